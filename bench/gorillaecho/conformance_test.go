package main

import (
	"context"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/rfc6455/ws/autobahn/catalog"
)

// start runs the gorilla echo server on a loopback port and returns its
// URL; the server stops when the test ends.
func start(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := serve(ctx, ln, io.Discard); err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); wg.Wait() })
	return "ws://" + ln.Addr().String() + "/"
}

// invalidUTF8 are section 6's cases whose text is not valid UTF-8.
var invalidUTF8 = []string{
	"6.3.*", "6.4.*", "6.6.1", "6.6.3", "6.6.4", "6.6.6", "6.6.8", "6.6.10", "6.8.*", "6.10.*",
	"6.11.5", "6.12.*", "6.13.*", "6.14.*", "6.15.1", "6.16.*", "6.17.*", "6.18.*", "6.19.*",
	"6.20.*", "6.21.*",
}

// TestGorillaSection6 runs section 6 of the catalog against gorilla's echo
// server. gorilla/websocket does not validate the UTF-8 of text messages
// (its documentation leaves that to the application), so the invalid cases
// must not come out OK; the valid ones must.
func TestGorillaSection6(t *testing.T) {
	if testing.Short() {
		t.Skip("runs section 6 of the catalog")
	}
	cases, err := catalog.Select(catalog.All(), []string{"6.*"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	invalid, err := catalog.Select(catalog.All(), invalidUTF8, nil)
	if err != nil {
		t.Fatal(err)
	}
	isInvalid := map[string]bool{}
	for _, c := range invalid {
		isInvalid[c.ID] = true
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	reports, err := catalog.RunServerTests(ctx, start(t), "gorilla/websocket v1.5.3", cases, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(reports) != len(cases) || len(cases) != 145 {
		t.Fatalf("%d reports for %d cases, want 145", len(reports), len(cases))
	}
	notOK := 0
	for _, r := range reports {
		switch {
		case isInvalid[r.ID] && r.Behavior == catalog.OK:
			t.Errorf("%s: behavior OK for invalid UTF-8 that gorilla echoes unvalidated", r.ID)
		case isInvalid[r.ID]:
			notOK++
		case !r.Strict():
			t.Errorf("%s (valid UTF-8): %s / %s", r.ID, r.Behavior, r.BehaviorClose)
		}
	}
	t.Logf("%d of %d invalid-UTF-8 cases not OK against gorilla/websocket", notOK, len(invalid))
	var summary stringWriter
	catalog.WriteSummary(&summary, reports)
	t.Log("\n" + string(summary))
}

type stringWriter []byte

func (w *stringWriter) Write(p []byte) (int, error) { *w = append(*w, p...); return len(p), nil }
