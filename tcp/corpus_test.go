package tcp_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"wscalc/calc/calctest"
)

// corpusMarker follows the inputs of every case: its reply shows that the steps that must
// not be answered were not, and that nothing came after the expected replies. A bare
// literal costs nothing from the session budget, so it is answered even in a case that
// exhausts the budget.
const corpusMarker, corpusMarkerReply = "7", "7"

// TestCorpusOverTCP replays the golden corpus of the core: each case in a fresh
// connection, over a handful of connections at once.
func TestCorpusOverTCP(t *testing.T) {
	cases, err := calctest.LoadAll()
	require.NoError(t, err)
	ts := start(t, nil)

	const workers = 4
	todo := make(chan calctest.Case)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for cs := range todo {
				if err := replay(ts.addr, cs); err != nil {
					t.Errorf("%s: %v", cs.Name(), err)
				}
			}
		})
	}
	for _, cs := range cases {
		todo <- cs
	}
	close(todo)
	wg.Wait()
}

// replay sends all the inputs of cs at once, then the marker, and compares the replies.
// A quit or exit step must close the connection instead: nothing after it is sent.
func replay(addr string, cs calctest.Case) error {
	conn, err := net.DialTimeout("tcp", addr, patience)
	if err != nil {
		return err
	}
	defer conn.Close()

	var in strings.Builder
	var want []string
	quits := false
	for _, st := range cs.Steps {
		in.WriteString(st.Input + "\n")
		if isQuit(st.Input) {
			quits = true
			break
		}
		if !st.NoReply {
			want = append(want, st.Want)
		}
	}
	if !quits {
		in.WriteString(corpusMarker + "\n")
		want = append(want, corpusMarkerReply)
	}

	conn.SetDeadline(time.Now().Add(patience))
	go io.WriteString(conn, in.String()) // the replies are read meanwhile
	r := bufio.NewReader(conn)
	var got []string
	for range want {
		line, err := r.ReadString('\n')
		if err != nil {
			return fmt.Errorf("after replies %q: %v", got, err)
		}
		got = append(got, strings.TrimSuffix(line, "\n"))
	}
	if !calctest.SameReplies(got, want) {
		return fmt.Errorf("replies differ\n got: %q\nwant: %q", got, want)
	}
	if quits {
		if rest, err := io.ReadAll(r); err != nil || len(rest) > 0 {
			return fmt.Errorf("after quit: want the connection closed, got %q, %v", rest, err)
		}
	}
	return nil
}

func isQuit(line string) bool {
	cmd := strings.ToLower(strings.TrimSpace(line))
	return cmd == "quit" || cmd == "exit"
}
