package calctest

import "testing"

func TestSameReply(t *testing.T) {
	for _, tc := range []struct {
		got, want string
		same      bool
	}{
		{"380", "380", true},
		{"381", "380", false},
		{"Error: session budget exhausted, try again in 54 s", "Error: session budget exhausted, try again in 55 s", true},
		{"Error: session budget exhausted, try again in 50 s", "Error: session budget exhausted, try again in 55 s", false},
		{"Error: session budget exhausted, try again in 55 s", "Error at column 1: division by zero", false},
		{"Error: expression too costly", "Error: session budget exhausted, try again in 55 s", false},
	} {
		if got := SameReply(tc.got, tc.want); got != tc.same {
			t.Errorf("SameReply(%q, %q) = %v, want %v", tc.got, tc.want, got, tc.same)
		}
	}
}
