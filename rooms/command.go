package rooms

import "strings"

// Verb is a room command.
type Verb int

// The room commands (§2).
const (
	Join Verb = iota + 1
	Leave
	Who
	Nick
)

var verbs = map[string]Verb{"join": Join, "leave": Leave, "who": Who, "nick": Nick}

// lookupVerb finds a command word in any case, without allocating (a private session's
// lines all pass here).
func lookupVerb(word string) (Verb, bool) {
	for w, v := range verbs {
		if strings.EqualFold(word, w) {
			return v, true
		}
	}
	return 0, false
}

// Command is a line recognised as a room command. Arg is the argument of join or nick as
// typed, "" when the word came alone.
type Command struct {
	Verb Verb
	Arg  string
}

// ParseCommand reports whether line is a room command: with its comment removed and
// blanks trimmed, one of the words alone (case-insensitive), or join or nick, blanks, and
// one argument without a blank that does not start with "=". Every other line is for the
// calculator: the words are not reserved ("join = 3", "who * 2").
func ParseCommand(line string) (Command, bool) {
	line = trimBlanks(cutComment(line))
	word, arg, hasArg := cutBlank(line)
	if len(word) < len("who") || len(word) > len("leave") { // most lines: no lookup, no allocation
		return Command{}, false
	}
	verb, ok := lookupVerb(word)
	if !ok {
		return Command{}, false
	}
	if !hasArg {
		return Command{Verb: verb}, true
	}
	arg = trimBlanks(arg)
	if verb != Join && verb != Nick || strings.HasPrefix(arg, "=") || strings.IndexFunc(arg, isBlank) >= 0 {
		return Command{}, false
	}
	return Command{Verb: verb, Arg: arg}, true
}

// Check returns the error a command gets on its own, before anything else is looked at:
// join and nick need their argument, and it must be valid. The room of a join comes back
// as shown (lower-cased).
func (c Command) Check() (Command, error) {
	switch c.Verb {
	case Join:
		if c.Arg == "" {
			return c, ErrJoinNeedsName
		}
		name, err := RoomName(c.Arg)
		c.Arg = name
		return c, err
	case Nick:
		if c.Arg == "" {
			return c, ErrNickNeedsName
		}
		return c, CheckNick(c.Arg)
	}
	return c, nil
}

// cutComment drops what follows "#" or its full-width form "＃", as the calculator does.
func cutComment(line string) string {
	if i := strings.IndexAny(line, "#＃"); i >= 0 {
		return line[:i]
	}
	return line
}

// isBlank: space, tab, and the ideographic space (U+3000) the calculator maps to a space.
func isBlank(r rune) bool { return r == ' ' || r == '\t' || r == '\u3000' }

func trimBlanks(s string) string { return strings.TrimFunc(s, isBlank) }

// cutBlank splits s at its first run of blanks.
func cutBlank(s string) (before, after string, found bool) {
	i := strings.IndexFunc(s, isBlank)
	if i < 0 {
		return s, "", false
	}
	return s[:i], trimBlanks(s[i:]), true
}
