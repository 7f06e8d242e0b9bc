//go:build race

package wsproto_test

const raceEnabled = true
