package main

import (
	"bufio"
	"io"
	"strings"
	"testing"

	"github.com/rfc6455/ws/internal/servertest"
)

// startServing runs the example with -serve and returns its ws:// URL, the
// stop that stands for SIGINT/SIGTERM, and run's result.
func startServing(t *testing.T) (string, chan struct{}, chan error) {
	t.Helper()
	pr, pw := io.Pipe()
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- run([]string{"-serve", "-addr", "127.0.0.1:0"}, pw, stop)
		pw.Close()
	}()
	lines := bufio.NewScanner(pr)
	lines.Scan()
	url, ok := strings.CutPrefix(lines.Text(), "echo server listening on ")
	if !ok {
		t.Fatalf("first line %q", lines.Text())
	}
	go io.Copy(io.Discard, pr)
	return url, stop, done
}

// TestSignalReachesEveryClientAtOnce: the 1001 comes at once, while a
// browser's spare connection keeps net/http waiting.
func TestSignalReachesEveryClientAtOnce(t *testing.T) {
	url, stop, done := startServing(t)
	servertest.CheckGoingAway(t, url, func() { close(stop) })
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
}

func TestHeaderBombIsAnswered431(t *testing.T) {
	url, stop, done := startServing(t)
	servertest.CheckHeaderBomb(t, strings.Split(strings.TrimPrefix(url, "ws://"), "/")[0], "/ws")
	close(stop)
	<-done
}
