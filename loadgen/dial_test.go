package loadgen

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"
)

// blackHole accepts TCP connections and never answers, and returns its
// ws:// URL.
func blackHole(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	held := make(chan net.Conn, 64)
	accepting := make(chan struct{})
	t.Cleanup(func() {
		ln.Close()
		<-accepting
		close(held)
		for c := range held {
			c.Close()
		}
	})
	go func() {
		defer close(accepting)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			select {
			case held <- c:
			default:
				c.Close()
			}
		}
	}()
	return "ws://" + ln.Addr().String() + "/"
}

// TestDialsHonourTimeoutAndDuration: against a server that never answers
// the handshake, a run ends with the first of Timeout (each dial) and
// Duration (the dialing as a whole), not after the client's 30-second
// default handshake timeout.
func TestDialsHonourTimeoutAndDuration(t *testing.T) {
	url := blackHole(t)
	for _, tc := range []struct {
		name              string
		timeout, duration time.Duration
	}{
		{"timeout first", 200 * time.Millisecond, time.Minute},
		{"duration first", time.Minute, 200 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			res, err := Run(context.Background(), Config{URL: url, Connections: 3, Timeout: tc.timeout, Duration: tc.duration})
			took := time.Since(start)
			t.Logf("run ended after %v", took)
			if err == nil || !strings.Contains(err.Error(), "no connection") {
				t.Fatalf("Run: %v, want no connection", err)
			}
			if len(res.Errors) != 1 || res.Errors[0].Kind != "dial: timeout" || res.Errors[0].Count != 3 {
				t.Errorf("errors %+v, want 3 dial timeouts", res.Errors)
			}
			// The bound is 200 ms; the default handshake timeout, 30 s.
			if took > 15*time.Second {
				t.Errorf("the run took %v", took)
			}
		})
	}
}
