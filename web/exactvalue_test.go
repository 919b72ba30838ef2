package web_test

import (
	"math/big"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The API's reply carries every digit of an exact result, where the display gives only
// the first ones and the count: an integer of 30103 digits, and a fraction ("n/d").
func TestEvalValueHasEveryDigit(t *testing.T) {
	e := newEnv(t, nil)
	resp, body := e.get(t, "/api/eval?expr="+url.QueryEscape("2 ** 100000"))
	require.Equal(t, http.StatusOK, resp.StatusCode, body[:min(len(body), 200)])
	r := decodeReply(t, resp, body)
	assert.Equal(t, "≈ 9.99002093014385e+30102 (30103 digits)", r.Display)
	assert.Len(t, r.Value, 30103)
	assert.Equal(t, new(big.Int).Lsh(big.NewInt(1), 100000).String(), r.Value)

	resp, body = e.do(t, "POST", "/api/eval", jsonHeader, jsonBody(t, "-1 / 3 ** 10000"))
	require.Equal(t, http.StatusOK, resp.StatusCode, body[:min(len(body), 200)])
	r = decodeReply(t, resp, body)
	assert.Equal(t, "rational", r.Kind)
	assert.Equal(t, "-1/"+new(big.Int).Exp(big.NewInt(3), big.NewInt(10000), nil).String(), r.Value)
}
