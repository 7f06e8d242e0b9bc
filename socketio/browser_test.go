//go:build linux

package socketio_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/rfc6455/ws/internal/chromium"
)

// TestRealClientBrowser runs the scenarios in headless Chromium: a page per
// transport mode loads socket.io-client's browser bundle (from the npm
// package) and testdata/scenarios.js from its own Go server.
func TestRealClientBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	bundle := clientBundle(t)
	devtools := chromium.Start(t)
	// The subtests run in parallel, after this function has returned:
	// what they share ends in cleanups, which run after them.
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	t.Cleanup(cancel)
	browser, err := chromium.Dial(ctx, devtools)
	if err != nil {
		t.Fatalf("devtools: %v", err)
	}
	t.Cleanup(browser.Close)
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			srv := startScenarioServer(t, bundle)
			page, err := browser.OpenPage(ctx, mode, srv.url()+"/page.html", "")
			if err != nil {
				t.Fatal(err)
			}
			page.WaitFor(t, "the scripts to load", `typeof io === "function" && typeof sioScenarios === "function"`)
			names, _ := json.Marshal(scenarioNames)
			var results []scenarioResult
			js := `sioScenarios(io, location.origin, "` + mode + `").run(` + string(names) + `)`
			if err := page.Eval(ctx, js, &results); err != nil {
				t.Fatal(err)
			}
			checkResults(t, "chromium "+mode, results)
			if t.Failed() {
				t.Logf("scenario order: %s", strings.Join(scenarioNames, ", "))
			}
		})
	}
}
