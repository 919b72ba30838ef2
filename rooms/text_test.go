package rooms

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
)

// The lines of the contract's nc example (rooms.md, Examples).
func TestTextFormsOfTheExample(t *testing.T) {
	assert.Equal(t, "joined lab as guest-3fa2 (1 member, seq 0)", JoinedReply("lab", DefaultNick("3fa2c81d09b7e654"), 1, 0))
	assert.Equal(t, "guest-3fa2 is now alice", RenamedReply("guest-3fa2", "alice"))
	assert.Equal(t, "# bob joined lab (2 members)", JoinedNotice("bob", "lab", 2))
	assert.Equal(t, "# 2 bob: x * 3 → 1", EventLine(2, "bob", "x * 3", "1"))
	assert.Equal(t, "# 4 bob: y = x / 0 → Error at column 7: division by zero", EventLine(4, "bob", "y = x / 0", "Error at column 7: division by zero"))
	assert.Equal(t, "# bob left lab (1 member)", LeftNotice("bob", "lab", 1))
	assert.Equal(t, "joined lab as bob (2 members, seq 1)", JoinedReply("lab", "bob", 2, 1))
	assert.Equal(t, "# 1 alice: x = 1/3 → x = 1/3 ≈ 0.33333333333333333333", EventLine(1, "alice", "x = 1/3", "x = 1/3 ≈ 0.33333333333333333333"))
	assert.Equal(t, "# 3 alice: * 2 → 2", EventLine(3, "alice", "* 2", "2"))
	assert.Equal(t, "lab (2 members): alice, bob", WhoReply("lab", 2, []Member{{ID: "3fa2", Nick: "alice"}, {ID: "81c0", Nick: "bob"}}))
	assert.Equal(t, "left lab", LeftReply("lab"))
	assert.Equal(t, "# 43 bob: 1/0 → Error at column 3: division by zero", EventLine(43, "bob", "1/0", "Error at column 3: division by zero"))
	assert.Equal(t, "# guest-3fa2 is now bob", RenamedNotice("guest-3fa2", "bob"))
	assert.Equal(t, "# lab was reset", ResetNotice("lab"))
}

func TestEventLineControlCharacters(t *testing.T) {
	assert.Equal(t, "# 5 bob: 1 + 2    → 3", EventLine(5, "bob", "1 +\t2\x00\x7f\u0085", "3"))
	assert.Equal(t, "héllo ↑", Printable("héllo ↑"))
	assert.Equal(t, "a b", Printable("a\u009fb"))
	assert.Equal(t, "a\u00a0b", Printable("a\u00a0b"), "U+00A0 is not a control character")
}

func TestWhoReply(t *testing.T) {
	assert.Equal(t, "lab (1 member): bob", WhoReply("lab", 1, []Member{{ID: "1", Nick: "bob"}}))
	var many []Member
	for i := range 250 {
		many = append(many, Member{ID: strconv.Itoa(1000 + i), Nick: "n" + strconv.Itoa(1000+i)})
	}
	got := WhoReply("lab", 250, many)
	assert.Contains(t, got, "lab (250 members): n1000, n1001, ")
	assert.Contains(t, got, ", n1099, and 150 more")
	assert.NotContains(t, got, "n1100")
	// Members elsewhere in the cluster are counted even when not listed.
	assert.Equal(t, "lab (3 members): a, and 2 more", WhoReply("lab", 3, []Member{{ID: "1", Nick: "a"}}))
}

func TestSortMembers(t *testing.T) {
	ms := []Member{{ID: "b2", Nick: "bob"}, {ID: "a1", Nick: "alice"}, {ID: "b1", Nick: "bob"}, {ID: "z", Nick: "Zed"}, {ID: "g", Nick: "guest-3fa2"}}
	SortMembers(ms)
	assert.Equal(t, []Member{{ID: "z", Nick: "Zed"}, {ID: "a1", Nick: "alice"}, {ID: "b1", Nick: "bob"}, {ID: "b2", Nick: "bob"}, {ID: "g", Nick: "guest-3fa2"}}, ms)
}

func TestCount(t *testing.T) {
	assert.Equal(t, "1 member", Count(1))
	assert.Equal(t, "0 members", Count(0))
	assert.Equal(t, "2 members", Count(2))
}
