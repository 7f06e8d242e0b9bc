//go:build race

package catalog

// raceEnabled: the race detector slows compression about tenfold, so the
// compression sections send less data per case under it.
const raceEnabled = true
