package main

import (
	"io"
	"net/url"
	"syscall"
	"testing"

	"github.com/rfc6455/ws/internal/servertest"
)

// TestServeSignalReachesEveryClientAtOnce: SIGINT or SIGTERM closes every
// WebSocket with 1001 at once, while a browser's spare connection (open,
// no request sent) keeps net/http waiting, in both modes; then ws serve
// exits 0.
func TestServeSignalReachesEveryClientAtOnce(t *testing.T) {
	for _, tc := range []struct {
		name string
		sig  syscall.Signal
		mode string
	}{
		{"SIGINT echo", syscall.SIGINT, "echo"},
		{"SIGTERM broadcast", syscall.SIGTERM, "broadcast"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, wsURL := serve(t, "-mode", tc.mode)
			latency := servertest.CheckGoingAway(t, wsURL, func() { srv.cmd.Process.Signal(tc.sig) })
			t.Logf("%s: 1001 %v after the signal", tc.name, latency)
			io.Copy(io.Discard, srv.stdout)
			io.Copy(io.Discard, srv.stderr)
			if code := srv.wait(); code != 0 {
				t.Errorf("ws serve exit %d", code)
			}
		})
	}
}

// TestServeAnswersAHeaderBombWith431: 1 MiB of request header is refused,
// not upgraded.
func TestServeAnswersAHeaderBombWith431(t *testing.T) {
	_, wsURL := serve(t)
	u, _ := url.Parse(wsURL)
	servertest.CheckHeaderBomb(t, u.Host, "/")
}
