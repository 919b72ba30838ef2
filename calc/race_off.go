//go:build !race

package calc

// raceTimeScale is 1 outside race-detector builds: see race_on.go.
const raceTimeScale = 1
