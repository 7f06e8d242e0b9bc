package catalog

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestStopOnFailedHandshake: against a plain HTTP server, the option stops
// the run at the first case with the refusal; without it every case is
// reported as the original suite does.
func TestStopOnFailedHandshake(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/"
	cases, err := Select(All(), []string{"1.1.*"}, nil)
	if err != nil {
		t.Fatal(err)
	}

	reports, err := RunServerTests(context.Background(), url, "", cases, &Options{StopOnFailedHandshake: true})
	var he *HandshakeError
	if !errors.As(err, &he) || he.Case != "1.1.1" || he.Status != "HTTP/1.1 404 Not Found" || !strings.Contains(he.Body, "404 page not found") {
		t.Fatalf("RunServerTests: %v (%+v), want the refusal of case 1.1.1 with its body", err, he)
	}
	if len(reports) != 0 {
		t.Errorf("%d reports before the refusal, want none", len(reports))
	}

	reports, err = RunServerTests(context.Background(), url, "", cases, nil)
	if err != nil || len(reports) != len(cases) {
		t.Fatalf("without the option: %d reports, %v; want %d", len(reports), err, len(cases))
	}
	for _, r := range reports {
		if r.Behavior != Failed || r.ResultClose != "The WebSocket opening handshake was never completed!" {
			t.Errorf("case %s: %s / %s", r.ID, r.Behavior, r.ResultClose)
		}
	}
}
