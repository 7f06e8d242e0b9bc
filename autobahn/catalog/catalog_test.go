package catalog

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/client"
	"github.com/rfc6455/ws/server"
)

// echo echoes every message as received, with its type, until the
// connection ends.
func echo(c *ws.Conn) {
	ctx := context.Background()
	var buf []byte
	for {
		typ, msg, err := c.ReadMessage(ctx, buf[:0])
		if err != nil {
			return
		}
		if err := c.WriteMessage(ctx, typ, msg); err != nil {
			return
		}
		buf = msg
	}
}

// ourServer starts this project's echo server on 127.0.0.1 and returns
// its ws:// URL.
func ourServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(server.Handler(echo))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return "ws://" + ln.Addr().String() + "/"
}

// runOurClient plays this project's client against a fuzzing server at
// addr, as the echo client for the original suite does.
func runOurClient(ctx context.Context, addr, agent string) error {
	base := "ws://" + addr
	c, _, err := client.Dial(ctx, base+"/getCaseCount", nil)
	if err != nil {
		return err
	}
	_, msg, err := c.ReadMessage(ctx, nil)
	if err != nil {
		return err
	}
	c.Close(ws.CloseNormal, "")
	n, err := strconv.Atoi(string(msg))
	if err != nil {
		return fmt.Errorf("case count %q: %v", msg, err)
	}
	for i := 1; i <= n; i++ {
		c, _, err := client.Dial(ctx, fmt.Sprintf("%s/runCase?case=%d&agent=%s", base, i, agent), nil)
		if err != nil {
			return err
		}
		echo(c)
		c.CloseNow()
	}
	c, _, err = client.Dial(ctx, base+"/updateReports?agent="+agent, nil)
	if err != nil {
		return err
	}
	_, _, err = c.ReadMessage(ctx, nil)
	var ce *ws.CloseError
	if err != nil && !errors.As(err, &ce) {
		return err
	}
	c.CloseNow()
	return nil
}

// checkAll fails the test for any case that is not OK or INFORMATIONAL
// in both verdicts, and logs the summary.
func checkAll(t *testing.T, reports []Report, want int) {
	t.Helper()
	var b strings.Builder
	WriteSummary(&b, reports)
	t.Log("\n" + b.String())
	if len(reports) != want {
		t.Errorf("got %d reports, want %d", len(reports), want)
	}
	for _, r := range reports {
		if !r.Strict() {
			t.Errorf("case %s: %s / %s: %s; %s; received %d events; remote close %s; wasNotCleanReason %q",
				r.ID, r.Behavior, r.BehaviorClose, r.Result.Result, r.ResultClose, len(r.Received), codeString(r.RemoteCloseCode), r.WasNotCleanReason)
		}
	}
}

// sections1to10 returns the cases of sections 1 to 10, which need no
// extension (sections 12 and 13 have tests of their own, with compression).
func sections1to10(t *testing.T) []Case {
	t.Helper()
	cases, err := Select(All(), []string{"*"}, []string{"12.*", "13.*"})
	if err != nil {
		t.Fatal(err)
	}
	return cases
}

// TestCatalogAgainstOurServer runs every case of sections 1 to 10 against
// this project's server with an echo handler (a sample under the race
// detector: see raceSample).
func TestCatalogAgainstOurServer(t *testing.T) {
	t.Parallel()
	url := ourServer(t)
	start := time.Now()
	cases := casesFor(sections1to10(t))
	reports, err := RunServerTests(context.Background(), url, "rfc6455-ws-server", cases, &Options{OutDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d cases against our server in %v", len(reports), time.Since(start).Round(time.Millisecond))
	checkAll(t, reports, len(cases))
}

// TestCatalogAgainstOurClient runs every case of sections 1 to 10 against
// this project's client, which connects once per case (a sample under the
// race detector).
func TestCatalogAgainstOurClient(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cases := casesFor(sections1to10(t))
	type out struct {
		res map[string][]Report
		err error
	}
	done := make(chan out, 1)
	go func() {
		res, err := ServeClientTests(ctx, ln, cases, &Options{OutDir: t.TempDir()})
		done <- out{res, err}
	}()
	start := time.Now()
	cerr := runOurClient(ctx, ln.Addr().String(), "rfc6455-ws-client")
	cancel()
	o := <-done
	if cerr != nil {
		t.Fatal(cerr)
	}
	if o.err != nil {
		t.Fatal(o.err)
	}
	t.Logf("%d cases against our client in %v", len(o.res["rfc6455-ws-client"]), time.Since(start).Round(time.Millisecond))
	checkAll(t, o.res["rfc6455-ws-client"], len(cases))
}

var _ http.Handler = server.Handler(echo)
