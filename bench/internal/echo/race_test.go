//go:build race

package echo

// raceEnabled: the tests run under the race detector.
const raceEnabled = true
