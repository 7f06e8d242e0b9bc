package main

import (
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// httpServer serves h on a loopback port and returns its ws:// URL.
func httpServer(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "ws://" + ln.Addr().String() + "/"
}

// silentServer accepts TCP connections and never answers; it returns its
// ws:// URL.
func silentServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	held := make(chan net.Conn, 256)
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

// TestDialRefusalGivesTheServersReason: a refused handshake shows the
// server's explanation from the body, on the one line, cut when long.
func TestDialRefusalGivesTheServersReason(t *testing.T) {
	url := httpServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Has("long") {
			http.Error(w, strings.Repeat("a very long explanation\n", 400), http.StatusForbidden)
			return
		}
		http.Error(w, "origin not allowed:\nhttps://evil.example", http.StatusForbidden)
	}))
	r := runWS(t, "", "dial", "-send", "x", url)
	if r.code != 1 {
		t.Errorf("exit %d, want 1", r.code)
	}
	wantOneLine(t, r.stderr, "ws dial: "+url+": handshake refused: 403 Forbidden: origin not allowed: https://evil.example\n")

	r = runWS(t, "", "dial", url+"?long")
	wantOneLine(t, r.stderr, "ws dial: "+url+"?long: handshake refused: 403 Forbidden: a very long explanation a very")
	if len(r.stderr) > 250 || !strings.HasSuffix(r.stderr, "…\n") {
		t.Errorf("a long reason is not cut: %q", r.stderr)
	}
}

// TestURLWithoutSchemeSaysSo: host:port is the commonest slip.
func TestURLWithoutSchemeSaysSo(t *testing.T) {
	for _, u := range []string{"127.0.0.1:8080", "localhost:8080", "ws//127.0.0.1:8080/"} {
		for _, cmd := range []string{"dial", "load"} {
			r := runWS(t, "", cmd, u)
			if r.code != 2 {
				t.Errorf("ws %s %s: exit %d, want 2", cmd, u, r.code)
			}
			wantOneLine(t, r.stderr, "ws "+cmd+": ")
			if !strings.Contains(r.stderr, "has no scheme; use ws:// or wss://") {
				t.Errorf("ws %s %s: %q", cmd, u, r.stderr)
			}
		}
	}
}

// TestSilentServerIsOneLineWithTheURL: a server that accepts TCP and never
// answers gets the same kind of line as the other failures, within
// -timeout.
func TestSilentServerIsOneLineWithTheURL(t *testing.T) {
	url := silentServer(t)
	for _, args := range [][]string{
		{"dial", "-timeout", "1s", url},
		{"dial", "-timeout", "1s", "-send", "x", url},
	} {
		r := runWS(t, "", args...)
		if r.code != 1 {
			t.Errorf("ws %s: exit %d, want 1", strings.Join(args, " "), r.code)
		}
		wantOneLine(t, r.stderr, "ws dial: "+url+": no answer to the opening handshake within -timeout 1s\n")
	}
}

// TestLoadDialsHonourTimeoutAndDuration: ws load against a silent server
// gives up after -timeout (and never runs past -d dialing); it took the
// client's 30-second default before.
func TestLoadDialsHonourTimeoutAndDuration(t *testing.T) {
	url := silentServer(t)
	for _, tc := range []struct {
		args  []string
		bound string
	}{
		{[]string{"load", "-d", "2s", "-timeout", "1s", url}, "-timeout 1s"},
		{[]string{"load", "-d", "1s", "-timeout", "20s", url}, "-d 1s"},
	} {
		args := tc.args
		start := time.Now()
		r := runWS(t, "", args...)
		took := time.Since(start)
		t.Logf("ws %s: %v", strings.Join(args, " "), took.Round(time.Millisecond))
		if r.code != 1 {
			t.Errorf("exit %d, want 1", r.code)
		}
		wantOneLine(t, r.stderr, "ws load: "+url+": no answer to the opening handshake within "+tc.bound+"\n")
		if took > 15*time.Second {
			t.Errorf("ws %s took %v", strings.Join(args, " "), took)
		}
	}
}

// TestConformanceAgainstPlainHTTPIsOneLine: not 517 failed cases, one line
// with the refusal.
func TestConformanceAgainstPlainHTTPIsOneLine(t *testing.T) {
	url := httpServer(t, http.NotFoundHandler())
	r := runWS(t, "", "conformance", "-server", url)
	if r.code != 1 || r.stdout != "" {
		t.Errorf("exit %d, stdout %q; want 1 and nothing", r.code, r.stdout)
	}
	wantOneLine(t, r.stderr, "ws conformance: "+url+": handshake refused (case 1.1.1): 404 Not Found: 404 page not found\n")
}

// TestServeAddrWithoutHostHints: -addr 8080 is a port alone.
func TestServeAddrWithoutHostHints(t *testing.T) {
	r := runWS(t, "", "serve", "-addr", "8080")
	if r.code != 2 {
		t.Errorf("exit %d, want 2", r.code)
	}
	wantOneLine(t, r.stderr, "ws serve: -addr 8080: want host:port; for port 8080 use -addr :8080")
	r = runWS(t, "", "serve", "-addr", "localhost")
	if r.code != 2 || !strings.Contains(r.stderr, "want host:port") {
		t.Errorf("-addr localhost: exit %d, %q", r.code, r.stderr)
	}
}
