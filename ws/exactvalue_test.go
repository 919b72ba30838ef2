package ws_test

import (
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"wscalc/calc"
	"wscalc/ws"
)

// A JSON session's reply carries every digit of an exact result whose display is
// approximate; a text session's reply is the display line, and its line does not pay for
// the digits: with a time limit between the estimates of the display (20 ms for a
// million-bit integer) and of its full decimal text (40 ms), the text session answers and
// the JSON session is refused with the time-limit error.
func TestJSONModeValueHasEveryDigit(t *testing.T) {
	e := newEnv(t, envConfig{})
	c := e.dial(t, true)
	request(t, c, 1, "2 ** 100000")
	r := readReply(t, c)
	require.Equal(t, "≈ 9.99002093014385e+30102 (30103 digits)", r.Display)
	require.Len(t, r.Value, 30103)
	require.Equal(t, new(big.Int).Lsh(big.NewInt(1), 100000).String(), r.Value)

	request(t, c, 2, "x = 1 / 3 ** 10000")
	r = readReply(t, c)
	require.Equal(t, "1/"+new(big.Int).Exp(big.NewInt(3), big.NewInt(10000), nil).String(), r.Value)

	c = e.dial(t, false)
	write(t, c, "2 ** 100000")
	require.Equal(t, "≈ 9.99002093014385e+30102 (30103 digits)", readText(t, c))
}

func TestTextModeDoesNotPayForTheValue(t *testing.T) {
	const line = "1 << 999999" // 1 000 000 bits
	e := newEnv(t, envConfig{opts: func(o *ws.Config) { o.Session.Limits = calc.Limits{MaxTime: 30 * time.Millisecond} }})
	text := e.dial(t, false)
	write(t, text, line)
	require.Equal(t, "≈ 4.95032811464795e+301029 (301030 digits)", readText(t, text))

	js := e.dial(t, true)
	request(t, js, 1, line)
	r := readReply(t, js)
	require.Equal(t, "error", r.Type, r.Display)
	require.True(t, strings.HasPrefix(r.Message, "evaluation took too long"), r.Message)
}
