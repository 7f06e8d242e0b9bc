package engineio

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/client"
	"github.com/rfc6455/ws/internal/looptest"
)

// testTimeout bounds waits that only a bug makes long.
const testTimeout = 10 * time.Second

// event is what a recorder saw, in order, for one session.
type event struct {
	kind   string // "open", "message", "close"
	typ    ws.MessageType
	data   string
	reason error
}

// recorder is a Handler that records each session's calls, checks that
// they come one at a time and in order (open, messages, close), and runs
// onMessage (echo by default) for each message.
type recorder struct {
	t         *testing.T
	onOpen    func(s *Socket)
	onMessage func(s *Socket, typ ws.MessageType, data []byte)

	mu       sync.Mutex
	sessions map[string][]event
	busy     map[*Socket]bool
	opened   chan *Socket
	closed   chan *Socket
}

func newRecorder(t *testing.T) *recorder {
	return &recorder{
		t:        t,
		sessions: make(map[string][]event),
		busy:     make(map[*Socket]bool),
		opened:   make(chan *Socket, 256),
		closed:   make(chan *Socket, 256),
		onMessage: func(s *Socket, typ ws.MessageType, data []byte) {
			s.Send(s.Context(), typ, data)
		},
	}
}

func (r *recorder) enter(s *Socket, e event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.busy[s] {
		r.t.Errorf("session %s: %s while another call runs", s.ID(), e.kind)
	}
	r.busy[s] = true
	evs := r.sessions[s.ID()]
	switch {
	case e.kind == "open" && len(evs) != 0:
		r.t.Errorf("session %s: open after %v", s.ID(), evs)
	case e.kind != "open" && (len(evs) == 0 || evs[0].kind != "open"):
		r.t.Errorf("session %s: %s before open", s.ID(), e.kind)
	case len(evs) > 0 && evs[len(evs)-1].kind == "close":
		r.t.Errorf("session %s: %s after close", s.ID(), e.kind)
	}
	r.sessions[s.ID()] = append(evs, e)
}

func (r *recorder) leave(s *Socket) {
	r.mu.Lock()
	r.busy[s] = false
	r.mu.Unlock()
}

func (r *recorder) Open(s *Socket) {
	r.enter(s, event{kind: "open"})
	if r.onOpen != nil {
		r.onOpen(s)
	}
	r.leave(s)
	r.opened <- s
}

func (r *recorder) Message(s *Socket, typ ws.MessageType, data []byte) {
	r.enter(s, event{kind: "message", typ: typ, data: string(data)})
	if r.onMessage != nil {
		r.onMessage(s, typ, data)
	}
	r.leave(s)
}

func (r *recorder) Close(s *Socket, reason error) {
	r.enter(s, event{kind: "close", reason: reason})
	r.leave(s)
	r.closed <- s
}

// events returns what session id saw so far.
func (r *recorder) events(id string) []event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]event(nil), r.sessions[id]...)
}

// messages returns the data of the messages session id received.
func (r *recorder) messages(id string) []string {
	var out []string
	for _, e := range r.events(id) {
		if e.kind == "message" {
			out = append(out, e.data)
		}
	}
	return out
}

// awaitOpen returns the next opened session.
func (r *recorder) awaitOpen() *Socket {
	r.t.Helper()
	select {
	case s := <-r.opened:
		return s
	case <-time.After(testTimeout):
		r.t.Fatal("no session opened")
		return nil
	}
}

// awaitClose waits for session s to be closed and returns the reason.
func (r *recorder) awaitClose(s *Socket) error {
	r.t.Helper()
	deadline := time.After(testTimeout)
	for {
		evs := r.events(s.ID())
		if n := len(evs); n > 0 && evs[n-1].kind == "close" {
			return evs[n-1].reason
		}
		select {
		case <-r.closed:
		case <-deadline:
			r.t.Fatalf("session %s not closed; events %v", s.ID(), evs)
		}
	}
}

// harness is a Server behind an httptest server.
type harness struct {
	t     *testing.T
	srv   *Server
	rec   *recorder
	hs    *httptest.Server // nil on the event-loop driver
	addr  string           // host:port
	url   string           // …/engine.io/
	wsURL string
	hc    *http.Client
}

func newHarness(t *testing.T, opts *Options) *harness {
	t.Helper()
	rec := newRecorder(t)
	if opts == nil {
		opts = &Options{}
	}
	if opts.Handler == nil {
		opts.Handler = rec
	}
	srv := NewServer(opts)
	var base string
	var stop func()
	var hs *httptest.Server
	if looptest.OnLoop(t) {
		// The event-loop driver: a loop.Server from a LoopMux.
		mux := NewLoopMux()
		mux.Handle("/engine.io/", srv)
		var addr string
		addr, stop = looptest.Serve(t, mux.Server(), testTimeout)
		base = "http://" + addr
	} else {
		mux := http.NewServeMux()
		mux.Handle("/engine.io/", srv)
		hs = httptest.NewServer(mux)
		base, stop = hs.URL, hs.Close
	}
	h := &harness{t: t, srv: srv, rec: rec, hs: hs, addr: strings.TrimPrefix(base, "http://"), url: base + "/engine.io/",
		wsURL: "ws" + strings.TrimPrefix(base, "http") + "/engine.io/",
		hc:    &http.Client{Timeout: testTimeout, Transport: &http.Transport{DisableCompression: true}}}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		srv.Shutdown(ctx)
		h.hc.CloseIdleConnections()
		stop()
	})
	return h
}

// eachDriver runs test against each driver of the WebSocket transport
// (see looptest.EachDriver).
func eachDriver(t *testing.T, test func(t *testing.T)) { looptest.EachDriver(t, test) }

type response struct {
	status int
	body   string
	header http.Header
}

func (h *harness) do(method, query string, body io.Reader, header http.Header) response {
	h.t.Helper()
	req, err := http.NewRequest(method, h.url+query, body)
	if err != nil {
		h.t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := h.hc.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, query, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		h.t.Fatalf("%s %s: body: %v", method, query, err)
	}
	return response{res.StatusCode, string(b), res.Header}
}

func (h *harness) get(query string) response { return h.do("GET", query, nil, nil) }

func (h *harness) post(query, body string) response {
	return h.do("POST", query, strings.NewReader(body), nil)
}

// open starts a polling session and returns its sid and the server's
// Socket.
func (h *harness) open() (string, *Socket) {
	h.t.Helper()
	res := h.get("?EIO=4&transport=polling")
	if res.status != 200 || !strings.HasPrefix(res.body, "0{") {
		h.t.Fatalf("handshake: %d %q", res.status, res.body)
	}
	var v struct {
		Sid      string
		Upgrades []string
	}
	if err := json.Unmarshal([]byte(res.body[1:]), &v); err != nil {
		h.t.Fatal(err)
	}
	s := h.rec.awaitOpen()
	if s.ID() != v.Sid {
		h.t.Fatalf("opened %s, handshake says %s", s.ID(), v.Sid)
	}
	return v.Sid, s
}

func pq(sid string) string { return "?EIO=4&transport=polling&sid=" + sid }

// awaitPendingGet waits until a GET of s is waiting in the server.
func (h *harness) awaitPendingGet(s *Socket) {
	h.t.Helper()
	deadline := time.Now().Add(testTimeout)
	for !s.Writable() {
		if time.Now().After(deadline) {
			h.t.Fatal("no GET pending")
		}
		time.Sleep(time.Millisecond)
	}
}

// conn is a client WebSocket.
type conn struct {
	t *testing.T
	c *ws.Conn
}

func (h *harness) dial(query string, header http.Header) (*conn, *http.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	c, res, err := client.Dial(ctx, h.wsURL+query, &client.Options{Header: header})
	if err != nil {
		return nil, res, err
	}
	h.t.Cleanup(func() { c.CloseNow() })
	return &conn{h.t, c}, res, nil
}

func (h *harness) mustDial(query string) *conn {
	h.t.Helper()
	c, _, err := h.dial(query, nil)
	if err != nil {
		h.t.Fatalf("dial %s: %v", query, err)
	}
	return c
}

func (c *conn) read() (ws.MessageType, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	typ, b, err := c.c.ReadMessage(ctx, nil)
	return typ, string(b), err
}

// next returns the next text message that is not a ping (pings are
// answered).
func (c *conn) next() string {
	c.t.Helper()
	for {
		typ, msg, err := c.read()
		if err != nil {
			c.t.Fatalf("read: %v", err)
		}
		if typ == ws.Text && msg == "2" {
			c.send(ws.Text, "3")
			continue
		}
		if typ != ws.Text {
			c.t.Fatalf("got a binary message %q", msg)
		}
		return msg
	}
}

func (c *conn) send(typ ws.MessageType, msg string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := c.c.WriteMessage(ctx, typ, []byte(msg)); err != nil {
		c.t.Fatalf("send %q: %v", msg, err)
	}
}

// closeCode reads until the server closes and returns its close code.
func (c *conn) closeCode() ws.CloseCode {
	c.t.Helper()
	for {
		_, _, err := c.read()
		if err == nil {
			continue
		}
		var ce *ws.CloseError
		if errors.As(err, &ce) {
			return ce.Code
		}
		return ws.CloseAbnormal
	}
}

// upgrade runs the client side of an upgrade of session sid.
func (h *harness) upgrade(sid string) *conn {
	h.t.Helper()
	c := h.mustDial("?EIO=4&transport=websocket&sid=" + sid)
	c.send(ws.Text, "2probe")
	if got := c.next(); got != "3probe" {
		h.t.Fatalf("probe answered %q", got)
	}
	c.send(ws.Text, "5")
	return c
}
