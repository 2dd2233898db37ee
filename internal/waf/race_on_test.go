//go:build race

package waf

// raceEnabled is true when the race detector is on: the CRS regression suite
// then runs a sample, being about ten times slower.
const raceEnabled = true
