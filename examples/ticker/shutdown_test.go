package main

import (
	"bufio"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/rfc6455/ws/internal/servertest"
)

// startTicker runs the ticker and returns its ws:// URL, the cancel that
// stands for SIGINT/SIGTERM, and run's result.
func startTicker(t *testing.T) (string, context.CancelFunc, chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0"}, pw)
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	sc := bufio.NewScanner(pr)
	if !sc.Scan() {
		t.Fatal("no banner")
	}
	line := sc.Text()
	url := line[strings.Index(line, "ws://"):]
	go io.Copy(io.Discard, pr)
	return url, cancel, done
}

// TestSignalReachesEveryClientAtOnce: the 1001 comes at once, while a
// browser's spare connection keeps net/http waiting.
func TestSignalReachesEveryClientAtOnce(t *testing.T) {
	url, cancel, done := startTicker(t)
	servertest.CheckGoingAway(t, url, cancel)
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	done <- nil // for the cleanup
}

func TestHeaderBombIsAnswered431(t *testing.T) {
	url, _, _ := startTicker(t)
	servertest.CheckHeaderBomb(t, strings.Split(strings.TrimPrefix(url, "ws://"), "/")[0], "/ws")
}
