package reconnect

import (
	"context"
	"errors"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/server"
)

// waitLimit bounds every wait in these tests, so that a bug fails the test
// with a message instead of hanging it. It is a liveness bound, not a
// timing assertion: nothing here should come close to it.
const waitLimit = 30 * time.Second

// received is a message the test server got, on its n-th connection.
type received struct {
	conn int
	text string
}

// testServer is a WebSocket server that can be killed (listener and every
// connection closed at once, with no close frame, as if it crashed) and
// started again on the same port.
type testServer struct {
	t      *testing.T
	addr   string
	handle func(c *ws.Conn, n int) // runs each connection; n counts from 1
	got    chan received

	mu    sync.Mutex
	hs    *http.Server
	conns map[*ws.Conn]struct{}
	n     int
	wg    sync.WaitGroup
}

// newTestServer starts a server on a free port of 127.0.0.1. With a nil
// handle, each connection echoes what it receives, after reporting it on
// got.
func newTestServer(t *testing.T, handle func(c *ws.Conn, n int)) *testServer {
	s := &testServer{t: t, addr: "127.0.0.1:0", got: make(chan received, 10000), conns: map[*ws.Conn]struct{}{}}
	if handle == nil {
		handle = s.echo
	}
	s.handle = handle
	s.start()
	t.Cleanup(s.kill)
	return s
}

func (s *testServer) url() string { return "ws://" + s.addr + "/" }

// echo reports and echoes each message until the connection ends.
func (s *testServer) echo(c *ws.Conn, n int) {
	ctx := context.Background()
	for {
		typ, msg, err := c.ReadMessage(ctx, nil)
		if err != nil {
			return
		}
		s.got <- received{n, string(msg)}
		if c.WriteMessage(ctx, typ, msg) != nil {
			return
		}
	}
}

// start listens on s.addr (the same port after a kill) and serves.
func (s *testServer) start() {
	s.t.Helper()
	var ln net.Listener
	var err error
	for range 100 { // the port may take a moment to be free again
		if ln, err = net.Listen("tcp", s.addr); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		s.t.Fatalf("listen on %s: %v", s.addr, err)
	}
	s.addr = ln.Addr().String()
	wsSrv := &server.Server{Handle: func(c *ws.Conn, r *http.Request) {
		s.mu.Lock()
		s.n++
		n := s.n
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		defer s.wg.Done()
		s.handle(c, n)
	}}
	hs := &http.Server{Handler: wsSrv, ReadHeaderTimeout: 10 * time.Second}
	s.mu.Lock()
	s.hs = hs
	s.mu.Unlock()
	go hs.Serve(ln)
}

// kill closes the listener and every connection at once, and waits for
// the handlers to return.
func (s *testServer) kill() {
	s.mu.Lock()
	hs := s.hs
	s.hs = nil
	for c := range s.conns {
		c.CloseNow()
		delete(s.conns, c)
	}
	s.mu.Unlock()
	if hs != nil {
		hs.Close()
	}
	s.wg.Wait()
}

// next returns the next message the server got.
func (s *testServer) next(t *testing.T) received {
	t.Helper()
	select {
	case r := <-s.got:
		return r
	case <-time.After(waitLimit):
		t.Fatal("the server got no message")
		return received{}
	}
}

// recorder collects the transitions of a client and lets a test wait for
// one.
type recorder struct {
	mu   sync.Mutex
	all  []Transition
	cond chan struct{} // closed and replaced at each transition
}

func newRecorder() *recorder { return &recorder{cond: make(chan struct{})} }

func (r *recorder) record(t Transition) {
	r.mu.Lock()
	r.all = append(r.all, t)
	close(r.cond)
	r.cond = make(chan struct{})
	r.mu.Unlock()
}

func (r *recorder) list() []Transition {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Transition(nil), r.all...)
}

// await waits for a transition, from index from on, that matches ok, and
// returns its index.
func (r *recorder) await(t *testing.T, from int, what string, ok func(Transition) bool) int {
	t.Helper()
	deadline := time.After(waitLimit)
	for {
		r.mu.Lock()
		for i := from; i < len(r.all); i++ {
			if ok(r.all[i]) {
				r.mu.Unlock()
				return i
			}
		}
		ch := r.cond
		r.mu.Unlock()
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("no transition %s; got %v", what, r.list())
		}
	}
}

// allowed holds the documented edges between states.
var allowed = map[[2]State]bool{
	{StateIdle, StateConnecting}:    true,
	{StateConnecting, StateOpen}:    true,
	{StateConnecting, StateWaiting}: true,
	{StateOpen, StateWaiting}:       true,
	{StateWaiting, StateConnecting}: true,
	{StateIdle, StateClosed}:        true,
	{StateConnecting, StateClosed}:  true,
	{StateOpen, StateClosed}:        true,
	{StateWaiting, StateClosed}:     true,
}

// checkTransitions fails the test if the transitions do not chain, or take
// an edge the package documentation does not list.
func checkTransitions(t *testing.T, ts []Transition) {
	t.Helper()
	prev := StateIdle
	for i, tr := range ts {
		if tr.From != prev {
			t.Errorf("transition %d %v starts from %v, the previous one ended in %v", i, tr, tr.From, prev)
		}
		if !allowed[[2]State{tr.From, tr.To}] {
			t.Errorf("transition %d %v is not a documented edge", i, tr)
		}
		prev = tr.To
	}
	if len(ts) > 0 && ts[len(ts)-1].To != StateClosed {
		t.Errorf("last transition %v does not end in closed", ts[len(ts)-1])
	}
}

// states returns the sequence of states entered, with repeats of the
// connecting/waiting cycle of failed attempts squeezed into one.
func states(ts []Transition) string {
	var b []string
	for _, tr := range ts {
		b = append(b, tr.To.String())
	}
	s := strings.Join(b, " ")
	for strings.Contains(s, "connecting waiting connecting waiting") {
		s = strings.ReplaceAll(s, "connecting waiting connecting waiting", "connecting waiting")
	}
	return s
}

// run starts c.Run and returns a function that waits for its result.
func run(t *testing.T, c *Client, ctx context.Context) func() error {
	t.Helper()
	res := make(chan error, 1)
	go func() { res <- c.Run(ctx) }()
	var once sync.Once
	var err error
	wait := func() error {
		once.Do(func() {
			select {
			case err = <-res:
			case <-time.After(waitLimit):
				t.Fatal("Run did not return")
			}
		})
		return err
	}
	t.Cleanup(func() {
		c.Close()
		wait()
		checkNoGoroutines(t)
	})
	return wait
}

// checkNoGoroutines fails the test if a goroutine of the package's
// non-test code is still running.
func checkNoGoroutines(t *testing.T) {
	t.Helper()
	var stacks string
	for range 200 {
		buf := make([]byte, 1<<20)
		stacks = string(buf[:runtime.Stack(buf, true)])
		leaked := false
		for g := range strings.SplitSeq(stacks, "\n\n") {
			if strings.Contains(g, "ws/reconnect.(*Client)") {
				leaked = true
			}
		}
		if !leaked {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Errorf("goroutines left behind:\n%s", stacks)
}

var errHook = errors.New("hook refused")

// fast is a backoff for tests: short and without jitter.
var fast = Backoff{Initial: time.Millisecond, Max: 5 * time.Millisecond, Jitter: -1}
