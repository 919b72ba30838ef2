package calc

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every function and constant has its help, and nothing else claims to be one.
func TestHelpCoversEveryName(t *testing.T) {
	for name := range functions {
		assert.Contains(t, functionHelp, name, "function %s has no help", name)
	}
	for name := range functionHelp {
		assert.Contains(t, functions, name, "help for %s, which is not a function", name)
		assert.True(t, strings.HasPrefix(functionHelp[name].usage, name+"("), "usage of %s: %q", name, functionHelp[name].usage)
	}
	for name := range constants {
		assert.Contains(t, constantHelp, name, "constant %s has no help", name)
	}
	for name := range constantHelp {
		assert.Contains(t, constants, name)
	}
	for name := range commands {
		assert.Contains(t, wordHelp, name, "command %s has no help", name)
	}
	fns, consts, cmds := Names()
	assert.Len(t, fns, len(functions))
	assert.Len(t, consts, len(constants))
	assert.Len(t, cmds, len(commands))
}

// The examples quoted in the help texts are what wscalc replies.
func TestHelpExamplesAreTrue(t *testing.T) {
	var texts []string
	for _, m := range []map[string]helpEntry{functionHelp, constantHelp, wordHelp, operatorHelp} {
		for _, h := range m {
			texts = append(texts, h.text)
		}
	}
	checked := 0
	for _, text := range texts {
		for _, inner := range parenthesised(text) {
			for _, ex := range splitTop(inner) {
				expr, want, ok := cutExample(ex)
				if !ok {
					continue
				}
				var s Session
				res, err := s.Eval(expr)
				require.NoError(t, err, "%q in %q", expr, text)
				assert.Equal(t, want, res.Display, "%q in %q", expr, text)
				checked++
			}
		}
	}
	assert.GreaterOrEqual(t, checked, 40)
}

// parenthesised returns the text inside each outermost pair of parentheses that holds an
// example (" = " or " ≈ ").
func parenthesised(s string) []string {
	var out []string
	depth, start := 0, 0
	for i, r := range s {
		switch r {
		case '(':
			if depth == 0 {
				start = i + 1
			}
			depth++
		case ')':
			depth--
			if depth == 0 && (strings.Contains(s[start:i], " = ") || strings.Contains(s[start:i], " ≈ ")) {
				out = append(out, s[start:i])
			}
		}
	}
	return out
}

// splitTop splits s at the ", " outside parentheses.
func splitTop(s string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '(':
			depth++
		case s[i] == ')':
			depth--
		case depth == 0 && strings.HasPrefix(s[i:], ", "):
			out = append(out, s[start:i])
			start = i + 2
		}
	}
	return append(out, s[start:])
}

// cutExample splits "sqrt(2.25) = 1.5" into the line and its display; "exp(1) ≈ 2.718…"
// expects "≈ 2.718…". "after 2 + 3, * 2 gives 10" and the like are not examples.
func cutExample(ex string) (expr, want string, ok bool) {
	if e, w, ok := strings.Cut(ex, " = "); ok {
		return e, w, true
	}
	if e, w, ok := strings.Cut(ex, " ≈ "); ok {
		return e, "≈ " + w, true
	}
	return "", "", false
}

func TestHelpRepliesAreText(t *testing.T) {
	var s Session
	for _, line := range []string{"help sqrt", "sqrt", " help  VARS ", "help π", "help //"} {
		res, err := s.Eval(line)
		require.NoError(t, err, line)
		assert.Equal(t, KindText, res.Kind, line)
		assert.NotContains(t, res.Display, "\n", line)
	}
	// the unknown topic's error points at the topic
	_, err := s.Eval("help \x01foo")
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, Error{Msg: `no help for '\x01foo'; help NAME takes one name or operator, as in help sqrt or help //`, Column: 6, End: 9}, *e)
}

// A typical line pays nothing for help: helpLine allocates nothing when it does not answer.
func TestHelpLineDoesNotAllocateOnOtherLines(t *testing.T) {
	var s Session
	for _, line := range []string{"2 + 3 * 4", "x", "factorial(5)", "helpme = 3", "help"} {
		src := []rune(line)
		allocs := testing.AllocsPerRun(100, func() { s.helpLine(src) })
		assert.Zero(t, allocs, line)
	}
}
