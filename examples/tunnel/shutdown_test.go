package main

import (
	"net"
	"strings"
	"testing"

	"github.com/rfc6455/ws/internal/servertest"
)

// startServerEnd starts a server end whose target accepts and holds every
// connection, and returns it with its ws:// URL.
func startServerEnd(t *testing.T) (*end, string) {
	t.Helper()
	target, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	held := make(chan net.Conn, 16)
	accepting := make(chan struct{})
	t.Cleanup(func() {
		target.Close()
		<-accepting
		close(held)
		for c := range held {
			c.Close()
		}
	})
	go func() {
		defer close(accepting)
		for {
			c, err := target.Accept()
			if err != nil {
				return
			}
			held <- c
		}
	}()
	srv, first := start(t, "server", "-addr", "127.0.0.1:0", "-to", target.Addr().String())
	return srv, field(t, first, "tunnel server: ")
}

// TestServerSignalReachesEveryTunnelAtOnce: the 1001 comes at once, while
// a spare HTTP connection keeps net/http waiting.
func TestServerSignalReachesEveryTunnelAtOnce(t *testing.T) {
	srv, url := startServerEnd(t)
	servertest.CheckGoingAway(t, url, srv.stop)
}

func TestServerHeaderBombIsAnswered431(t *testing.T) {
	_, url := startServerEnd(t)
	servertest.CheckHeaderBomb(t, strings.Split(strings.TrimPrefix(url, "ws://"), "/")[0], "/tunnel")
}
