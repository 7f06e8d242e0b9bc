package reconnect

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/client"
)

// The server streams to the client and is killed (listener and connections
// closed, no close frame) in the middle of it, then started again on the
// same port: the client reconnects, runs its hook again, and delivers the
// messages queued while it was down, in order, right after the hook's.
func TestServerKilledMidStreamClientReconnectsRunsHookAndFlushesQueueInOrder(t *testing.T) {
	streamed := make(chan int, 1000)
	var srv *testServer
	srv = newTestServer(t, func(c *ws.Conn, n int) {
		ctx := context.Background()
		// The hook's greeting comes first, answered with a welcome.
		_, hello, err := c.ReadMessage(ctx, nil)
		if err != nil {
			return
		}
		srv.got <- received{n, string(hello)}
		if c.WriteMessage(ctx, ws.Text, []byte("welcome")) != nil {
			return
		}
		// Then stream to the client while reporting what it sends.
		go func() {
			for i := 1; i <= 1_000_000; i++ {
				if c.WriteMessage(ctx, ws.Text, fmt.Appendf(nil, "stream %d", i)) != nil {
					return
				}
			}
		}()
		for {
			_, msg, err := c.ReadMessage(ctx, nil)
			if err != nil {
				return
			}
			srv.got <- received{n, string(msg)}
		}
	})

	var hooks atomic.Int32
	rec := newRecorder()
	c := New(srv.url(), &Options{
		Backoff: fast,
		OnConnect: func(ctx context.Context, conn *ws.Conn) error {
			n := hooks.Add(1)
			if err := conn.WriteMessage(ctx, ws.Text, fmt.Appendf(nil, "hello %d", n)); err != nil {
				return err
			}
			_, msg, err := conn.ReadMessage(ctx, nil)
			if err != nil {
				return err
			}
			if string(msg) != "welcome" {
				return fmt.Errorf("got %q, want welcome", msg)
			}
			return nil
		},
		OnMessage: func(typ ws.MessageType, data []byte) {
			if s, ok := strings.CutPrefix(string(data), "stream "); ok {
				n, _ := strconv.Atoi(s)
				select {
				case streamed <- n:
				default:
				}
			}
		},
		OnStateChange: rec.record,
	})
	wait := run(t, c, context.Background())

	if r := srv.next(t); r != (received{1, "hello 1"}) {
		t.Fatalf("first message on the first connection: %+v, want hello 1", r)
	}
	for i := 1; i <= 3; i++ {
		if err := c.Send(ws.Text, fmt.Appendf(nil, "a%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i <= 3; i++ {
		if r, want := srv.next(t), (received{1, fmt.Sprintf("a%d", i)}); r != want {
			t.Fatalf("got %+v, want %+v", r, want)
		}
	}
	// Mid-stream: the client is receiving the server's stream.
	for range 10 {
		select {
		case <-streamed:
		case <-time.After(waitLimit):
			t.Fatal("the stream did not reach the client")
		}
	}

	srv.kill()
	// The client notices the connection is gone, and fails at least one
	// attempt on the dead port.
	i := rec.await(t, 0, "open -> waiting", func(tr Transition) bool { return tr.From == StateOpen && tr.To == StateWaiting })
	for j := 1; j <= 5; j++ {
		if err := c.Send(ws.Text, fmt.Appendf(nil, "b%d", j)); err != nil {
			t.Fatal(err)
		}
	}
	if n, b := c.Queued(); n != 5 || b != 10 {
		t.Errorf("Queued while down = %d messages, %d bytes; want 5, 10", n, b)
	}
	rec.await(t, i, "a failed attempt", func(tr Transition) bool {
		return tr.From == StateConnecting && tr.To == StateWaiting && tr.Attempt >= 1 && tr.Err != nil
	})

	srv.start()
	if r := srv.next(t); r != (received{2, "hello 2"}) {
		t.Fatalf("first message on the second connection: %+v, want hello 2", r)
	}
	for j := 1; j <= 5; j++ {
		if r, want := srv.next(t), (received{2, fmt.Sprintf("b%d", j)}); r != want {
			t.Fatalf("got %+v, want %+v", r, want)
		}
	}
	if n := hooks.Load(); n != 2 {
		t.Errorf("hook ran %d times, want 2", n)
	}
	if c.State() != StateOpen {
		t.Errorf("State = %v, want open", c.State())
	}

	c.Close()
	if err := wait(); err != nil {
		t.Errorf("Run after Close = %v, want nil", err)
	}
	ts := rec.list()
	checkTransitions(t, ts)
	if got, want := states(ts), "connecting open waiting connecting waiting connecting open closed"; got != want {
		t.Errorf("states entered:\n got %s\nwant %s", got, want)
	}
	if err := c.Send(ws.Text, []byte("late")); !errors.Is(err, ErrClosed) {
		t.Errorf("Send after Run returned = %v, want ErrClosed", err)
	}
}

// A client sending as fast as it can while the server is killed and
// restarted: what the server receives, over both connections, is in order
// and without duplicates, and everything sent reaches it in the end.
func TestFloodAcrossRestartArrivesInOrderWithoutDuplicates(t *testing.T) {
	srv := newTestServer(t, nil)
	rec := newRecorder()
	c := New(srv.url(), &Options{Backoff: fast, OnStateChange: rec.record, QueueMessages: 64, OnMessage: func(ws.MessageType, []byte) {}})
	run(t, c, context.Background())

	const total = 2000
	sent := make(chan error, 1)
	go func() {
		for i := 1; i <= total; {
			err := c.Send(ws.Text, []byte(strconv.Itoa(i)))
			switch {
			case err == nil:
				i++
			case errors.Is(err, ErrQueueFull):
				time.Sleep(time.Millisecond) // the queue is bounded: let it drain
			default:
				sent <- err
				return
			}
		}
		sent <- nil
	}()

	last, conns, killed := 0, map[int]bool{}, false
	for last != total {
		r := srv.next(t)
		conns[r.conn] = true
		n, err := strconv.Atoi(r.text)
		if err != nil || n <= last {
			t.Fatalf("after %d the server got %q on connection %d: out of order or duplicated", last, r.text, r.conn)
		}
		last = n
		if !killed && n >= total/4 {
			killed = true
			srv.kill()
			rec.await(t, 0, "open -> waiting", func(tr Transition) bool { return tr.From == StateOpen })
			srv.start()
		}
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	if !conns[1] || !conns[2] {
		t.Errorf("messages arrived on connections %v, want 1 and 2", conns)
	}
}

// A hook that fails makes the attempt fail: the client backs off and tries
// again, and opens once the hook succeeds.
func TestHookFailureFailsTheAttemptAndTheClientRetries(t *testing.T) {
	srv := newTestServer(t, nil)
	var calls atomic.Int32
	rec := newRecorder()
	c := New(srv.url(), &Options{
		Backoff: fast,
		OnConnect: func(ctx context.Context, conn *ws.Conn) error {
			if calls.Add(1) <= 2 {
				return errHook
			}
			return nil
		},
		OnStateChange: rec.record,
	})
	wait := run(t, c, context.Background())
	i := rec.await(t, 0, "open", func(tr Transition) bool { return tr.To == StateOpen })
	if a := rec.list()[i].Attempt; a != 3 {
		t.Errorf("opened on attempt %d, want 3", a)
	}
	for _, tr := range rec.list()[:i] {
		if tr.To == StateWaiting && !errors.Is(tr.Err, errHook) {
			t.Errorf("transition %v: want the hook's error", tr)
		}
	}
	c.Close()
	if err := wait(); err != nil {
		t.Errorf("Run = %v", err)
	}
	checkTransitions(t, rec.list())
}

// With MaxAttempts, consecutive failures end Run with ErrGaveUp and the
// last error, and the client is closed.
func TestMaxAttemptsExhaustedIsTerminal(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadURL := "ws://" + ln.Addr().String() + "/"
	ln.Close() // nothing listens there now: every dial is refused
	live := newTestServer(t, nil)

	for _, tc := range []struct {
		name   string
		url    string
		hook   func(context.Context, *ws.Conn) error
		target error
	}{
		{"dial refused", deadURL, nil, ErrGaveUp},
		{"hook fails", live.url(), func(context.Context, *ws.Conn) error { return errHook }, errHook},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder()
			c := New(tc.url, &Options{Backoff: fast, MaxAttempts: 3, OnConnect: tc.hook, OnStateChange: rec.record})
			err := run(t, c, context.Background())()
			if !errors.Is(err, ErrGaveUp) || !errors.Is(err, tc.target) {
				t.Fatalf("Run = %v, want ErrGaveUp wrapping %v", err, tc.target)
			}
			ts := rec.list()
			checkTransitions(t, ts)
			var attempts []int
			for _, tr := range ts {
				if tr.To == StateConnecting {
					attempts = append(attempts, tr.Attempt)
				}
			}
			if fmt.Sprint(attempts) != "[1 2 3]" {
				t.Errorf("attempts %v, want [1 2 3]", attempts)
			}
			if last := ts[len(ts)-1]; last.To != StateClosed || last.Err != err {
				t.Errorf("last transition %v, want closed with Run's error", last)
			}
			if c.State() != StateClosed {
				t.Errorf("State = %v", c.State())
			}
		})
	}
}

// Cancelling the context while the client waits out a long backoff ends
// Run at once with the context's error; the client is closed.
func TestCancelDuringBackoffReturnsPromptly(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "ws://" + ln.Addr().String() + "/"
	ln.Close()

	rec := newRecorder()
	c := New(url, &Options{Backoff: Backoff{Initial: time.Hour}, OnStateChange: rec.record})
	ctx, cancel := context.WithCancel(context.Background())
	wait := run(t, c, ctx)
	rec.await(t, 0, "waiting", func(tr Transition) bool { return tr.To == StateWaiting })
	cancel()
	if err := wait(); !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v, want context.Canceled", err)
	}
	if _, ok := <-c.Messages(); ok {
		t.Error("Messages not closed")
	}
	if err := c.Send(ws.Text, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Send = %v, want ErrClosed", err)
	}
	if err := c.Run(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("second Run = %v, want ErrClosed", err)
	}
	checkTransitions(t, rec.list())
}

// Close on an open connection closes it with 1000, which the server sees.
func TestCloseSendsNormalClosure(t *testing.T) {
	codes := make(chan ws.CloseCode, 1)
	srv := newTestServer(t, func(c *ws.Conn, n int) {
		_, _, err := c.ReadMessage(context.Background(), nil)
		var ce *ws.CloseError
		if errors.As(err, &ce) {
			codes <- ce.Code
		}
	})
	rec := newRecorder()
	c := New(srv.url(), &Options{OnStateChange: rec.record})
	wait := run(t, c, context.Background())
	rec.await(t, 0, "open", func(tr Transition) bool { return tr.To == StateOpen })
	c.Close()
	if err := wait(); err != nil {
		t.Errorf("Run = %v", err)
	}
	select {
	case code := <-codes:
		if code != ws.CloseNormal {
			t.Errorf("server saw close code %d, want 1000", code)
		}
	case <-time.After(waitLimit):
		t.Fatal("server saw no close frame")
	}
	if got := states(rec.list()); got != "connecting open closed" {
		t.Errorf("states %s", got)
	}
}

// Without OnMessage, messages come on the Messages channel, each owning its
// data.
func TestMessagesChannelDeliversInOrder(t *testing.T) {
	srv := newTestServer(t, nil)
	c := New(srv.url(), &Options{})
	run(t, c, context.Background())
	for i := range 20 {
		c.Send(ws.Text, []byte(strconv.Itoa(i)))
	}
	var got []string
	for range 20 {
		select {
		case m := <-c.Messages():
			got = append(got, string(m.Data))
		case <-time.After(waitLimit):
			t.Fatalf("got only %v", got)
		}
	}
	for i, s := range got {
		if s != strconv.Itoa(i) {
			t.Fatalf("messages %v out of order", got)
		}
	}
}

// The send queue is bounded in messages and in bytes.
func TestSendQueueBound(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
		ok   int
	}{
		{"messages", Options{QueueMessages: 3}, 3},
		{"bytes", Options{QueueBytes: 10}, 2}, // 4 + 4 bytes fit, a third does not
		{"both", Options{QueueMessages: 1, QueueBytes: 100}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := New("ws://127.0.0.1:1/", &tc.opts)
			for i := range tc.ok {
				if err := c.Send(ws.Binary, []byte("abcd")); err != nil {
					t.Fatalf("Send %d: %v", i, err)
				}
			}
			if err := c.Send(ws.Binary, []byte("abcd")); !errors.Is(err, ErrQueueFull) {
				t.Fatalf("Send over the bound = %v, want ErrQueueFull", err)
			}
			if n, _ := c.Queued(); n != tc.ok {
				t.Errorf("Queued = %d, want %d", n, tc.ok)
			}
		})
	}
}

// A handshake refused with 401 is not retried by default: Run returns the
// *client.HandshakeError after one attempt.
func TestRefusalIsNotRetriedByDefault(t *testing.T) {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusUnauthorized)
	}))
	defer hs.Close()
	rec := newRecorder()
	c := New("ws"+strings.TrimPrefix(hs.URL, "http"), &Options{Backoff: fast, OnStateChange: rec.record})
	err := run(t, c, context.Background())()
	var he *client.HandshakeError
	if !errors.As(err, &he) || he.Response.StatusCode != http.StatusUnauthorized {
		t.Fatalf("Run = %v, want a 401 HandshakeError", err)
	}
	if got := states(rec.list()); got != "connecting closed" {
		t.Errorf("states %s", got)
	}
}

// With PingInterval, a server that stops answering pings (it stops
// reading) is dropped with ErrPongTimeout and the client reconnects.
func TestPongTimeoutReconnects(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	var srv *testServer
	srv = newTestServer(t, func(c *ws.Conn, n int) {
		if n == 1 {
			<-release // never reads: pings go unanswered
			return
		}
		srv.echo(c, n)
	})
	rec := newRecorder()
	c := New(srv.url(), &Options{
		Backoff:       fast,
		PingInterval:  5 * time.Millisecond,
		PongTimeout:   20 * time.Millisecond,
		OnStateChange: rec.record,
	})
	run(t, c, context.Background())
	i := rec.await(t, 0, "open -> waiting", func(tr Transition) bool { return tr.From == StateOpen })
	if err := rec.list()[i].Err; !errors.Is(err, ErrPongTimeout) {
		t.Errorf("connection ended with %v, want ErrPongTimeout", err)
	}
	rec.await(t, i, "open again", func(tr Transition) bool { return tr.To == StateOpen })
	c.Send(ws.Text, []byte("still here"))
	if r := srv.next(t); r != (received{2, "still here"}) {
		t.Errorf("got %+v", r)
	}
}

func TestBackoffDelay(t *testing.T) {
	b := Backoff{Initial: 100 * time.Millisecond, Max: time.Second, Multiplier: 2, Jitter: 0.5}
	for _, tc := range []struct {
		n    int
		r    float64
		want time.Duration
	}{
		{1, 0, 100 * time.Millisecond},
		{2, 0, 200 * time.Millisecond},
		{4, 0, 800 * time.Millisecond},
		{5, 0, time.Second}, // capped
		{1000, 0, time.Second},
		{1, 0.5, 75 * time.Millisecond},
		{5, 0.999999, 500*time.Millisecond + 500}, // at most half taken off
		{0, 0, 100 * time.Millisecond},
	} {
		if got := b.delay(tc.n, tc.r); got != tc.want {
			t.Errorf("delay(%d, %v) = %v, want %v", tc.n, tc.r, got, tc.want)
		}
	}
	if got := (Backoff{}).delay(1, 0); got != DefaultInitial {
		t.Errorf("zero Backoff: first delay %v, want %v", got, DefaultInitial)
	}
	if got := (Backoff{Initial: time.Second, Jitter: -1}).delay(1, 0.9); got != time.Second {
		t.Errorf("negative Jitter: %v, want no jitter", got)
	}
	for range 1000 {
		if d := b.Delay(3); d < 200*time.Millisecond || d > 400*time.Millisecond {
			t.Fatalf("Delay(3) = %v, outside [200ms, 400ms]", d)
		}
	}
}

// Issue 20's reconnect mismatches: Close before Run stops the client (Run
// returns ErrClosed, Done and Messages are closed), and Send after Close,
// before or while Run runs, is refused with ErrClosed rather than dropped.
func TestCloseRefusesSendsAndStopsAClientNotRunYet(t *testing.T) {
	c := New("ws://127.0.0.1:1/", nil)
	c.Close()
	c.Close() // again: nothing more
	if err := c.Send(ws.Text, []byte("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Send after Close, before Run = %v", err)
	}
	if err := c.Run(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Run after Close = %v", err)
	}
	select {
	case <-c.Done():
	default:
		t.Fatal("Done is open after Close of a client that never ran")
	}
	if _, ok := <-c.Messages(); ok {
		t.Fatal("Messages delivered a message")
	}
	if s := c.State(); s != StateClosed {
		t.Fatalf("state %v", s)
	}

	srv := newTestServer(t, func(c *ws.Conn, n int) { c.Serve(context.Background(), ws.Handler{}) })
	rec := newRecorder()
	c2 := New(srv.url(), &Options{OnStateChange: rec.record})
	wait := run(t, c2, context.Background())
	rec.await(t, 0, "open", func(tr Transition) bool { return tr.To == StateOpen })
	c2.Close()
	if err := c2.Send(ws.Text, []byte("after close")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Send right after Close, Run still running = %v", err)
	}
	if err := wait(); err != nil {
		t.Fatalf("Run = %v", err)
	}
}
