//go:build race

package server

// raceEnabled: the race detector's instrumentation makes stack frames
// larger, so the stack-size tests run only without it.
const raceEnabled = true
