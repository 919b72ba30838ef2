//go:build race

package e2e

// raceEnabled: the tests run with -race, so the server binary is built with -race too.
const raceEnabled = true
