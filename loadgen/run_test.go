package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/server"
)

// serve runs handle for every WebSocket connection on a local port and
// returns its ws:// URL.
func serve(t *testing.T, handle func(c *ws.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	wsSrv := server.Handler(handle)
	srv := &http.Server{Handler: wsSrv}
	go srv.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		wsSrv.Shutdown(ctx)
	})
	return "ws://" + ln.Addr().String() + "/"
}

// echo sends every message back; after maxMsgs messages (if positive) it
// closes the connection with 1013 instead.
func echo(maxMsgs int, mangle bool) func(c *ws.Conn) {
	return func(c *ws.Conn) {
		ctx := context.Background()
		var buf []byte
		for n := 1; ; n++ {
			typ, msg, err := c.ReadMessage(ctx, buf)
			if err != nil {
				return
			}
			if maxMsgs > 0 && n > maxMsgs {
				c.Close(ws.CloseTryAgainLater, "enough")
				return
			}
			if mangle && len(msg) > 0 {
				msg[0] ^= 1
			}
			if c.WriteMessage(ctx, typ, msg) != nil {
				return
			}
			buf = msg
		}
	}
}

func TestRunCountsEveryRoundTripUpToTheMessageBudget(t *testing.T) {
	url := serve(t, echo(0, false))
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"binary", Config{Connections: 3, Size: 100, Messages: 500}},
		{"text", Config{Connections: 2, Size: 1, Text: true, Messages: 100}},
		{"large", Config{Connections: 2, Size: 100 << 10, Messages: 20}},
		{"rate", Config{Connections: 4, Size: 10, Messages: 40, Rate: 100000}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.URL = url
			cfg.Duration = time.Minute // the budget ends the run
			res, err := Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if res.Connected != cfg.Connections || res.Messages != uint64(cfg.Messages) || res.ErrorTotal() != 0 {
				t.Fatalf("connected %d, messages %d, errors %v; want %d, %d, none",
					res.Connected, res.Messages, res.Errors, cfg.Connections, cfg.Messages)
			}
			if res.Latency.Count() != res.Messages {
				t.Fatalf("%d latencies for %d messages", res.Latency.Count(), res.Messages)
			}
		})
	}
}

func TestRunRaisesTheReadLimitToTheMessageSize(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	wsSrv := &server.Server{
		Options: server.Options{Conn: ws.Options{ReadLimit: -1}},
		Handle:  func(c *ws.Conn, _ *http.Request) { echo(0, false)(c) },
	}
	srv := &http.Server{Handler: wsSrv}
	go srv.Serve(ln)
	defer srv.Close()
	size := ws.DefaultReadLimit + 1
	// A 32 MiB round trip under the race detector on a busy machine can
	// take more than the default 10 s Timeout; the test is about the read
	// limit, not the speed.
	res, err := Run(context.Background(), Config{URL: "ws://" + ln.Addr().String(), Size: size, Messages: 1, Duration: 5 * time.Minute, Timeout: 4 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if res.Messages != 1 || res.ErrorTotal() != 0 {
		t.Fatalf("messages %d, errors %v; want 1 and none", res.Messages, res.Errors)
	}
}

func TestRunEndsAtTheDuration(t *testing.T) {
	url := serve(t, echo(0, false))
	var mu sync.Mutex
	var snaps []Progress
	res, err := Run(context.Background(), Config{
		URL: url, Connections: 2, Size: 64, Duration: 300 * time.Millisecond,
		ProgressInterval: 50 * time.Millisecond,
		Progress: func(p Progress) {
			mu.Lock()
			snaps = append(snaps, p)
			mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Messages == 0 || res.ErrorTotal() != 0 || res.Elapsed < 300*time.Millisecond {
		t.Fatalf("messages %d, errors %v, elapsed %v", res.Messages, res.Errors, res.Elapsed)
	}
	mu.Lock()
	defer mu.Unlock()
	for i := 1; i < len(snaps); i++ {
		if snaps[i].Messages < snaps[i-1].Messages || snaps[i].Elapsed <= snaps[i-1].Elapsed {
			t.Fatalf("progress went backwards: %+v then %+v", snaps[i-1], snaps[i])
		}
	}
}

func TestRunUnreachableURLFailsWithTheDialError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	res, err := Run(context.Background(), Config{URL: "ws://" + addr + "/", Connections: 3, Duration: time.Second})
	if err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("err = %v, want a connection refused", err)
	}
	if res == nil || res.Connected != 0 || len(res.Errors) != 1 || res.Errors[0] != (ErrorCount{"dial: connection refused", 3}) {
		t.Fatalf("result %+v, want 3 refused dials", res)
	}
}

func TestRunInvalidConfig(t *testing.T) {
	for _, cfg := range []Config{
		{},
		{URL: "ws://127.0.0.1:1/", Connections: -1},
		{URL: "ws://127.0.0.1:1/", Size: -1},
		{URL: "ws://127.0.0.1:1/", Rate: -1},
	} {
		if _, err := Run(context.Background(), cfg); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("Run(%+v) = %v, want ErrInvalidConfig", cfg, err)
		}
	}
}

func TestRunCountsServerClosesAndRedials(t *testing.T) {
	var conns atomic.Int64
	url := serve(t, func(c *ws.Conn) {
		conns.Add(1)
		echo(5, false)(c)
	})
	res, err := Run(context.Background(), Config{URL: url, Connections: 1, Size: 8, Messages: 12, Duration: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	// 5 round trips per connection: the 6th message is answered with a
	// close, so 12 round trips take 3 connections and 2 errors.
	if res.Messages != 12 || conns.Load() != 3 {
		t.Fatalf("messages %d over %d connections, want 12 over 3", res.Messages, conns.Load())
	}
	want := []ErrorCount{{"read: closed by the server with 1013", 2}}
	if len(res.Errors) != 1 || res.Errors[0] != want[0] {
		t.Fatalf("errors %v, want %v", res.Errors, want)
	}
}

func TestRunDetectsAWrongEcho(t *testing.T) {
	url := serve(t, echo(0, true))
	res, err := Run(context.Background(), Config{URL: url, Connections: 1, Size: 8, Duration: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Messages != 0 || len(res.Errors) != 1 || !strings.HasPrefix(res.Errors[0].Kind, "echo: ") {
		t.Fatalf("messages %d, errors %v; want only echo errors", res.Messages, res.Errors)
	}
}

func TestRunInterruptedByContext(t *testing.T) {
	url := serve(t, echo(0, false))
	ctx, cancel := context.WithCancel(context.Background())
	var once sync.Once
	res, err := Run(ctx, Config{
		URL: url, Connections: 2, Duration: time.Minute, ProgressInterval: time.Millisecond,
		Progress: func(Progress) { once.Do(cancel) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Interrupted || res.ErrorTotal() != 0 {
		t.Fatalf("interrupted %v, errors %v; want interrupted and no errors", res.Interrupted, res.Errors)
	}
}

func TestWriteTextLinesParse(t *testing.T) {
	res := &Result{
		URL: "ws://x/", Connections: 4, Connected: 4, Size: 1024, Elapsed: 2 * time.Second,
		Messages: 1000, Latency: new(Histogram), ConnectTime: 1234567,
		Errors: []ErrorCount{{"read: timeout", 2}},
	}
	for i := range 1000 {
		res.Latency.Record(time.Duration(i) * time.Microsecond)
	}
	var b bytes.Buffer
	if err := res.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	want := []string{
		`^target:     ws://x/ \(4 connections, 1KiB binary messages\)$`,
		`^connected:  4/4 in 1\.23ms$`,
		`^messages:   1000 round trips in 2s$`,
		`^throughput: 500 msg/s, 0\.51 MB/s$`,
		`^latency:    p50=\S+ p90=\S+ p99=\S+ max=999µs$`,
		`^errors:     2$`,
		`^\s+2  read: timeout$`,
	}
	sc := bufio.NewScanner(&b)
	for i := 0; sc.Scan(); i++ {
		if i >= len(want) {
			t.Fatalf("extra line %q", sc.Text())
		}
		if !regexp.MustCompile(want[i]).MatchString(sc.Text()) {
			t.Errorf("line %d = %q, want to match %s", i, sc.Text(), want[i])
		}
	}
}
