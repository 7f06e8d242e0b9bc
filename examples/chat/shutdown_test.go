package main

import (
	"testing"

	"github.com/rfc6455/ws/internal/servertest"
)

// TestSignalReachesEveryClientAtOnce: the 1001 comes at once, while a
// browser's spare connection (the page's own, for one) keeps net/http
// waiting.
func TestSignalReachesEveryClientAtOnce(t *testing.T) {
	in, addr := startTestChat(t)
	stopped := make(chan error, 1)
	servertest.CheckGoingAway(t, "ws://"+addr+"/ws?name=ann", func() { go func() { stopped <- in.stop(t) }() })
	if err := <-stopped; err != nil {
		t.Fatalf("run: %v", err)
	}
}

func TestHeaderBombIsAnswered431(t *testing.T) {
	_, addr := startTestChat(t)
	servertest.CheckHeaderBomb(t, addr, "/ws")
}
