package calc

import (
	"sort"
	"strings"
	"unicode"
)

// This file answers `help NAME` and a line that is only a function's name: one line of
// kind text each. Session.command hands every line to helpLine first.

// helpEntry explains one name: usage is how it is written ("sqrt(x)"), text what it does.
type helpEntry struct {
	usage string
	text  string
}

func (h helpEntry) line() string { return h.usage + ": " + h.text }

// functionHelp has an entry for every function of the functions table (a test checks it).
// The examples in parentheses are checked by a test too: "(expr = display)" and
// "(expr ≈ digits)".
var functionHelp = map[string]helpEntry{
	"abs":       {"abs(x)", "absolute value; exact for exact x (abs(-7/2) = 3.5)"},
	"sign":      {"sign(x)", "-1, 0 or 1 as x is negative, zero or positive; an exact integer (sign(-pi) = -1)"},
	"floor":     {"floor(x)", "the largest integer ≤ x; an exact integer (floor(-2.5) = -3)"},
	"ceil":      {"ceil(x)", "the smallest integer ≥ x; an exact integer (ceil(2.1) = 3)"},
	"trunc":     {"trunc(x)", "x without its fraction, toward zero; an exact integer (trunc(-2.7) = -2)"},
	"round":     {"round(x) or round(x, n)", "nearest integer, or n decimals (-100 ≤ n ≤ 100), halves away from zero; exact for exact x (round(-2.5) = -3, round(1.45, 1) = 1.5)"},
	"sqrt":      {"sqrt(x)", "square root; exact on perfect squares of rationals (sqrt(2.25) = 1.5), approximate otherwise"},
	"cbrt":      {"cbrt(x)", "cube root; exact on perfect cubes of rationals (cbrt(-8) = -2), approximate otherwise"},
	"exp":       {"exp(x)", "e to the power x; approximate (exp(1) ≈ 2.71828182845905)"},
	"ln":        {"ln(x)", "natural logarithm, x > 0; approximate (ln(e) ≈ 1)"},
	"log10":     {"log10(x)", "base-10 logarithm, x > 0; exact when x is an exact power of 10 (log10(1/1000) = -3)"},
	"log2":      {"log2(x)", "base-2 logarithm, x > 0; exact when x is an exact power of 2 (log2(1024) = 10)"},
	"log":       {"log(x, base)", "logarithm of x to the base; exact when x is an exact power of the base (log(81, 3) = 4); log(x) alone is refused: use ln(x) or log10(x)"},
	"sin":       {"sin(x)", "sine of x radians; approximate (sin(30 * deg) ≈ 0.5)"},
	"cos":       {"cos(x)", "cosine of x radians; approximate (cos(pi) ≈ -1)"},
	"tan":       {"tan(x)", "tangent of x radians; approximate (tan(45 * deg) ≈ 1)"},
	"asin":      {"asin(x)", "arc sine in radians, -1 ≤ x ≤ 1; approximate (asin(1) ≈ 1.5707963267949)"},
	"acos":      {"acos(x)", "arc cosine in radians, -1 ≤ x ≤ 1; approximate (acos(-1) ≈ 3.14159265358979)"},
	"atan":      {"atan(x)", "arc tangent in radians; approximate (atan(1) ≈ 0.785398163397448)"},
	"atan2":     {"atan2(y, x)", "angle of the point (x, y) in radians, from -pi to pi; approximate (atan2(1, -1) ≈ 2.35619449019234)"},
	"sinh":      {"sinh(x)", "hyperbolic sine; approximate (sinh(1) ≈ 1.1752011936438)"},
	"cosh":      {"cosh(x)", "hyperbolic cosine; approximate (cosh(0) ≈ 1)"},
	"tanh":      {"tanh(x)", "hyperbolic tangent; approximate (tanh(1) ≈ 0.761594155955765)"},
	"gcd":       {"gcd(a, b)", "greatest common divisor of two integers, never negative (gcd(12, -18) = 6)"},
	"lcm":       {"lcm(a, b)", "least common multiple of two integers, never negative (lcm(4, 6) = 12)"},
	"factorial": {"factorial(n)", "n! for an integer n ≥ 0, as the postfix n! (factorial(5) = 120)"},
	"min":       {"min(a, b, …)", "the smallest of 1 to 8 arguments, returned unchanged (min(1/3, 0.5) = 1/3 ≈ 0.33333333333333333333)"},
	"max":       {"max(a, b, …)", "the largest of 1 to 8 arguments, returned unchanged (max(4, pi) = 4)"},
	"xor":       {"xor(a, b)", "bitwise exclusive or of two integers (xor(12, 10) = 6)"},
}

// constantHelp has an entry for every constant (a test checks it).
var constantHelp = map[string]helpEntry{
	"pi":  {"pi", "π ≈ 3.14159265358979, the ratio of a circle's circumference to its diameter; approximate; also written π"},
	"e":   {"e", "Euler's number ≈ 2.71828182845905, the base of ln; approximate"},
	"tau": {"tau", "2π ≈ 6.28318530717959, a full turn in radians; approximate"},
	"deg": {"deg", "one degree in radians, π/180 ≈ 0.0174532925199433; approximate (sin(30 * deg) ≈ 0.5)"},
}

// wordHelp explains the commands (any case) and the other reserved words.
var wordHelp = map[string]helpEntry{
	"help": {"help", "one line listing the operators, functions, constants and commands; help NAME explains one of them (help sqrt, help //)"},
	"vars": {"vars", "lists this session's variables in the order they were first assigned, or says no variables"},
	"quit": {"quit", "ends the session (also exit); no reply"},
	"exit": {"exit", "ends the session (also quit); no reply"},
	"ans":  {"ans", "the last successful result (also _); a line starting with * / // % mod ** ^ continues from it (after 2 + 3, * 2 gives 10)"},
	"_":    {"_", "the last successful result (also ans)"},
	"mod":  {"a mod b", "remainder, the same as a % b: it takes the divisor's sign (-7 mod 3 = 2)"},
}

// operatorHelp explains the operators, by their text after mapping (× is *).
var operatorHelp = map[string]helpEntry{
	"+":  {"a + b", "addition; exact for exact operands (0.1 + 0.2 = 0.3)"},
	"-":  {"a - b, -a", "subtraction and negation (-2 ** 2 = -4, as in Python)"},
	"*":  {"a * b", "multiplication (also ×); no implicit multiplication: 2x is an error"},
	"/":  {"a / b", "true division, exact for exact operands (7 / 2 = 3.5)"},
	"//": {"a // b", "floor division: the largest integer ≤ a/b, an exact integer (-7 // 2 = -4)"},
	"%":  {"a % b", "remainder with the divisor's sign, as in Python (-7 % 3 = 2); for percent, divide by 100"},
	"**": {"a ** b", "power (also ^), right to left (2 ** 3 ** 2 = 512); exact for an exact integer exponent (2 ** -1 = 0.5)"},
	"^":  {"a ^ b", "power, the same as ** (2 ^ 10 = 1024); exclusive or is xor(a, b)"},
	"!":  {"n!", "factorial of an integer n ≥ 0, postfix (5! = 120, 3!! = 720)"},
	"~":  {"~a", "bitwise not of an integer, -a-1 (~5 = -6)"},
	"<<": {"a << n", "a·2^n for integers, n ≥ 0 (1 << 10 = 1024)"},
	">>": {"a >> n", "floor(a / 2^n) for integers, n ≥ 0 (-9 >> 1 = -5)"},
	"&":  {"a & b", "bitwise and of integers (12 & 10 = 8)"},
	"|":  {"a | b", "bitwise or of integers (12 | 10 = 14)"},
	"=":  {"name = expr", "stores a variable of this session (at most 100); names are case-sensitive, and constants, functions and commands cannot be assigned"},
}

// helpLine answers `help NAME` and a line that is exactly a function's name (blanks aside;
// `sqrt + 1` stays the contract's unknown-name error). ok is false for every other line.
// It is on every line's path, so lines that are neither cost a few comparisons.
func (s *Session) helpLine(src []rune) (res Result, err error, ok bool) {
	start := 0
	for start < len(src) && isBlank(src[start]) {
		start++
	}
	word := trimBlanks(src[start:])
	if len(word) > 5 && isBlank(word[4]) && foldHelp(word[:4]) {
		topic := trimBlanks(word[5:])
		if topic[0] == '=' && len(topic) > 1 {
			return Result{}, nil, false // help = 1: an assignment, refused by the parser
		}
		col := start + 5 + 1
		for isBlank(src[col-1]) {
			col++
		}
		return s.helpTopic(topic, col)
	}
	if name, ok := functionName(word); ok {
		return Result{Display: name + " is a function: " + functionHelp[name].usage + " — help " + name, Kind: KindText}, nil, true
	}
	return Result{}, nil, false
}

// foldHelp reports whether w is "help" in any case.
func foldHelp(w []rune) bool {
	const h = "help"
	for i, r := range w {
		if unicode.ToLower(r) != rune(h[i]) {
			return false
		}
	}
	return true
}

// functionName reports whether w is exactly the name of a function, without allocating.
func functionName(w []rune) (string, bool) {
	var buf [16]byte
	if len(w) == 0 || len(w) > len(buf) {
		return "", false
	}
	for i, r := range w {
		if !isNameRune(r) {
			return "", false
		}
		buf[i] = byte(r)
	}
	if _, ok := functions[string(buf[:len(w)])]; !ok {
		return "", false
	}
	return string(buf[:len(w)]), true
}

// helpTopic explains one name or operator; col is the topic's column, for the error.
func (s *Session) helpTopic(topic []rune, col int) (Result, error, bool) {
	name := string(topic)
	if h, ok := lookupHelp(name); ok {
		return Result{Display: h.line(), Kind: KindText}, nil, true
	}
	if v, ok := s.vars[name]; ok {
		return Result{Display: name + " is a variable of this session: " + name + " = " + v.text, Kind: KindText}, nil, true
	}
	var msg string
	switch lower := strings.ToLower(name); {
	case lower != name && hasHelp(lower):
		msg = "no help for " + quoteTopic(topic) + " (names are case-sensitive: help " + lower + ")"
	case isName(topic):
		msg = "unknown name " + quoteTopic(topic) + " (help alone lists every name)"
	default:
		msg = "no help for " + quoteTopic(topic) + "; help NAME takes one name or operator, as in help sqrt or help //"
	}
	end := col + len(topic) - 1
	return Result{}, &Error{Msg: msg, Column: col, End: end}, true
}

func hasHelp(name string) bool {
	_, ok := lookupHelp(name)
	return ok
}

func isName(w []rune) bool {
	if len(w) == 0 || !isNameStart(w[0]) {
		return false
	}
	for _, r := range w {
		if !isNameRune(r) {
			return false
		}
	}
	return true
}

func lookupHelp(name string) (helpEntry, bool) {
	if h, ok := functionHelp[name]; ok {
		return h, true
	}
	if name == string(piRune) {
		name = "pi"
	}
	if h, ok := constantHelp[name]; ok {
		return h, true
	}
	if h, ok := operatorHelp[name]; ok {
		return h, true
	}
	if h, ok := wordHelp[name]; ok {
		return h, true
	}
	if h, ok := wordHelp[strings.ToLower(name)]; ok && commands[strings.ToLower(name)] {
		return h, true // commands are case-insensitive
	}
	return helpEntry{}, false
}

// maxTopicQuote bounds how much of an unknown topic a message repeats.
const maxTopicQuote = 32

// quoteTopic quotes what followed help for a message: at most maxTopicQuote characters,
// invisible ones escaped as in the unexpected-character message.
func quoteTopic(topic []rune) string {
	var b strings.Builder
	b.WriteByte('\'')
	for i, r := range topic {
		if i == maxTopicQuote {
			b.WriteString("…")
			break
		}
		q := quoteRune(r) // 'c', or an escape in quotes for an invisible character
		b.WriteString(q[1 : len(q)-1])
	}
	b.WriteByte('\'')
	return b.String()
}

// Names lists the names a person may type, for completion in the line tools: functions,
// constants and commands, each sorted (ans and _ are the other reserved names).
func Names() (functions, constants, commands []string) {
	functions = sortedKeys(functionHelp)
	constants = sortedKeys(constantHelp)
	commands = []string{"exit", "help", "quit", "vars"}
	return functions, constants, commands
}

func sortedKeys(m map[string]helpEntry) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
