//go:build !unix

package loadgen

import "errors"

// RaiseFileLimit is not supported here: the system's limit stands.
func RaiseFileLimit() (uint64, error) {
	return 0, errors.New("cannot raise the open-file limit on this system")
}
