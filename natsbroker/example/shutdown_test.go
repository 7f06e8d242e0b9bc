package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"

	"github.com/rfc6455/ws/internal/servertest"
)

// startChatServer runs one chat server against an embedded NATS server and
// returns its address and the cancel that stands for SIGINT/SIGTERM.
func startChatServer(t *testing.T) (string, context.CancelFunc, chan error) {
	t.Helper()
	ns, err := startNATS("127.0.0.1", -1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	s, err := newServer("A", ns.ClientURL(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return ln.Addr().String(), cancel, done
}

// TestSignalReachesEveryClientAtOnce: the 1001 comes at once, while a
// browser's spare connection keeps net/http waiting.
func TestSignalReachesEveryClientAtOnce(t *testing.T) {
	addr, cancel, done := startChatServer(t)
	servertest.CheckGoingAway(t, "ws://"+addr+"/ws?user=ann", cancel)
	if err := <-done; err != nil {
		t.Errorf("serve: %v", err)
	}
	done <- nil // for the cleanup
}

func TestHeaderBombIsAnswered431(t *testing.T) {
	addr, _, _ := startChatServer(t)
	servertest.CheckHeaderBomb(t, strings.TrimSpace(addr), "/ws")
}
