//go:build race

package calc

// raceTimeScale stretches the meter's clock in a race-detector build, which is only ever a
// test build: the detector slows Go code (our GCD loop, the evaluator) 5–20 times while the
// cost model prices a normal build, so a line that a normal build answers within its limit
// would be refused under -race and the golden corpus would depend on the machine's load.
// Refusals by estimate (the line could not fit even at full speed) are not stretched.
const raceTimeScale = 10
