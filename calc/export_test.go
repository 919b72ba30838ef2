package calc

// RaceTimeScale is how much the meter stretches its clock in this build (race_on.go), for
// tests that bound how long a line may take.
const RaceTimeScale = raceTimeScale
