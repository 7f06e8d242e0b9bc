package engineio

import (
	"bufio"

	"compress/gzip"
	"compress/zlib"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rfc6455/ws"
)

func TestErrorAnswers(t *testing.T) { eachDriver(t, testErrorAnswers) }

func testErrorAnswers(t *testing.T) {
	h := newHarness(t, &Options{
		AllowRequest: func(r *http.Request) error {
			if r.URL.Query().Get("deny") != "" {
				return errors.New("Thou shall not pass")
			}
			return nil
		},
	})
	wsc := h.mustDial("?EIO=4&transport=websocket")
	wsc.next()
	wsSession := h.rec.awaitOpen()
	tests := []struct {
		name, method, query string
		status              int
		body                string
	}{
		{"unknown transport", "GET", "?EIO=4&transport=abc", 400, `{"code":0,"message":"Transport unknown"}`},
		{"no transport", "GET", "?EIO=4", 400, `{"code":0,"message":"Transport unknown"}`},
		{"unknown sid", "GET", "?EIO=4&transport=polling&sid=nope", 400, `{"code":1,"message":"Session ID unknown"}`},
		{"unknown sid, POST", "POST", "?EIO=4&transport=polling&sid=nope", 400, `{"code":1,"message":"Session ID unknown"}`},
		{"handshake by POST", "POST", "?EIO=4&transport=polling", 400, `{"code":2,"message":"Bad handshake method"}`},
		{"handshake by PUT", "PUT", "?EIO=4&transport=polling", 400, `{"code":2,"message":"Bad handshake method"}`},
		{"websocket without upgrade", "GET", "?EIO=4&transport=websocket", 400, `{"code":3,"message":"Bad request"}`},
		{"polling on a websocket session", "GET", "?EIO=4&transport=polling&sid=" + wsSession.ID(), 400, `{"code":3,"message":"Bad request"}`},
		{"refused by AllowRequest", "GET", "?EIO=4&transport=polling&deny=1", 403, `{"code":4,"message":"Thou shall not pass"}`},
		{"revision 3", "GET", "?EIO=3&transport=polling", 400, `{"code":5,"message":"Unsupported protocol version"}`},
		{"no revision", "GET", "?transport=polling", 400, `{"code":5,"message":"Unsupported protocol version"}`},
		{"revision abc", "GET", "?EIO=abc&transport=polling", 400, `{"code":5,"message":"Unsupported protocol version"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := h.do(tc.method, tc.query, nil, nil)
			if res.status != tc.status || res.body != tc.body {
				t.Errorf("%d %s, want %d %s", res.status, res.body, tc.status, tc.body)
			}
			if ct := res.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
	t.Run("session method other than GET and POST", func(t *testing.T) {
		sid, s := h.open()
		if res := h.do("PUT", pq(sid), nil, nil); res.status != 400 || res.body != `{"code":3,"message":"Bad request"}` {
			t.Errorf("%d %s", res.status, res.body)
		}
		s.Close()
	})
	t.Run("WebSocket handshake refused", func(t *testing.T) {
		for _, q := range []string{"?transport=websocket", "?EIO=4&transport=websocket&deny=1", "?EIO=4&transport=websocket&sid=nope"} {
			_, res, err := h.dial(q, nil)
			if err == nil || res == nil || (res.StatusCode != 400 && res.StatusCode != 403) {
				t.Errorf("%s: %v, %v; want a refusal with 400 or 403", q, err, res)
			}
		}
	})
}

func TestTransportsOption(t *testing.T) { eachDriver(t, testTransportsOption) }

func testTransportsOption(t *testing.T) {
	h := newHarness(t, &Options{Transports: []string{WebSocket}})
	if res := h.get("?EIO=4&transport=polling"); res.status != 400 || !strings.Contains(res.body, `"code":0`) {
		t.Errorf("polling disabled: %d %s", res.status, res.body)
	}
	c := h.mustDial("?EIO=4&transport=websocket")
	if msg := c.next(); !strings.Contains(msg, `"upgrades":[]`) {
		t.Errorf("handshake %s", msg)
	}

	h2 := newHarness(t, &Options{Transports: []string{Polling}})
	res := h2.get("?EIO=4&transport=polling")
	if !strings.Contains(res.body, `"upgrades":[]`) {
		t.Errorf("websocket disabled, handshake %s", res.body)
	}
	if _, r, err := h2.dial("?EIO=4&transport=websocket", nil); err == nil || r == nil || r.StatusCode != 400 {
		t.Errorf("websocket disabled: dial %v %v", err, r)
	}
}

func TestHandshakePacket(t *testing.T) { eachDriver(t, testHandshakePacket) }

func testHandshakePacket(t *testing.T) {
	h := newHarness(t, &Options{PingInterval: 1500 * time.Millisecond, PingTimeout: 700 * time.Millisecond, MaxPayload: 12345})
	res := h.get("?EIO=4&transport=polling")
	sid, _ := h.open2(res)
	want := `0{"sid":"` + sid + `","upgrades":["websocket"],"pingInterval":1500,"pingTimeout":700,"maxPayload":12345}`
	if res.body != want {
		t.Errorf("handshake %s, want %s", res.body, want)
	}
	if ct := res.header.Get("Content-Type"); ct != "text/plain; charset=UTF-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if len(sid) != 20 {
		t.Errorf("sid %q: want 20 characters", sid)
	}
}

// open2 parses a handshake response h.get made, and waits for its Open.
func (h *harness) open2(res response) (string, *Socket) {
	h.t.Helper()
	s := h.rec.awaitOpen()
	if !strings.Contains(res.body, `"sid":"`+s.ID()+`"`) {
		h.t.Fatalf("handshake %s is not session %s", res.body, s.ID())
	}
	return s.ID(), s
}

func TestCloseReasons(t *testing.T) { eachDriver(t, testCloseReasons) }

func testCloseReasons(t *testing.T) {
	h := newHarness(t, nil)
	t.Run("client close packet, polling", func(t *testing.T) {
		sid, s := h.open()
		h.post(pq(sid), "1")
		if r := h.rec.awaitClose(s); !errors.Is(r, ErrClientClose) {
			t.Errorf("reason %v", r)
		}
	})
	t.Run("client close packet, websocket", func(t *testing.T) {
		c := h.mustDial("?EIO=4&transport=websocket")
		c.next()
		s := h.rec.awaitOpen()
		c.send(ws.Text, "1")
		if r := h.rec.awaitClose(s); !errors.Is(r, ErrClientClose) {
			t.Errorf("reason %v", r)
		}
		if code := c.closeCode(); code != ws.CloseNormal {
			t.Errorf("close code %d", code)
		}
	})
	t.Run("peer closes the websocket", func(t *testing.T) {
		c := h.mustDial("?EIO=4&transport=websocket")
		c.next()
		s := h.rec.awaitOpen()
		c.c.Close(ws.CloseGoingAway, "bye")
		if r := h.rec.awaitClose(s); !errors.Is(r, ErrTransportClose) {
			t.Errorf("reason %v", r)
		}
	})
	t.Run("ping timeout", func(t *testing.T) {
		h := newHarness(t, &Options{PingInterval: 50 * time.Millisecond, PingTimeout: 50 * time.Millisecond})
		_, s := h.open()
		if r := h.rec.awaitClose(s); !errors.Is(r, ErrPingTimeout) {
			t.Errorf("reason %v", r)
		}
	})
	t.Run("parse error, polling", func(t *testing.T) {
		sid, s := h.open()
		if res := h.post(pq(sid), "4ok\x1e9"); res.status != 400 {
			t.Errorf("POST: %d", res.status)
		}
		if r := h.rec.awaitClose(s); !errors.Is(r, ErrParseError) {
			t.Errorf("reason %v", r)
		}
		if got := h.rec.messages(sid); len(got) != 1 || got[0] != "ok" {
			t.Errorf("messages before the bad packet: %q, want [ok]", got)
		}
	})
	t.Run("parse error, websocket", func(t *testing.T) {
		c := h.mustDial("?EIO=4&transport=websocket")
		c.next()
		s := h.rec.awaitOpen()
		c.send(ws.Text, "x")
		if r := h.rec.awaitClose(s); !errors.Is(r, ErrParseError) {
			t.Errorf("reason %v", r)
		}
		if code := c.closeCode(); code != ws.ClosePolicyViolation {
			t.Errorf("close code %d, want 1008", code)
		}
	})
	t.Run("ping from the client", func(t *testing.T) {
		sid, s := h.open()
		h.post(pq(sid), "2")
		if r := h.rec.awaitClose(s); !errors.Is(r, ErrTransportError) {
			t.Errorf("reason %v", r)
		}
	})
	t.Run("the GET connection breaks", func(t *testing.T) {
		sid, s := h.open()
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, "GET", h.url+pq(sid), nil)
		go func() {
			h.awaitPendingGet(s)
			cancel()
		}()
		h.hc.Do(req)
		if r := h.rec.awaitClose(s); !errors.Is(r, ErrTransportError) {
			t.Errorf("reason %v", r)
		}
	})
}

func TestServerClose(t *testing.T) { eachDriver(t, testServerClose) }

func testServerClose(t *testing.T) {
	t.Run("polling", func(t *testing.T) {
		h := newHarness(t, nil)
		sid, s := h.open()
		ctx := context.Background()
		s.Send(ctx, ws.Text, []byte("a"))
		s.Send(ctx, ws.Binary, []byte{1, 2})
		s.Close()
		if err := s.Send(ctx, ws.Text, []byte("late")); !errors.Is(err, ErrClosed) || !errors.Is(err, ErrServerClose) {
			t.Errorf("Send after Close: %v", err)
		}
		if res := h.get(pq(sid)); res.body != "4a\x1ebAQI=\x1e1" {
			t.Errorf("GET %d %q, want the messages then the close packet", res.status, res.body)
		}
		if r := h.rec.awaitClose(s); !errors.Is(r, ErrServerClose) {
			t.Errorf("reason %v", r)
		}
		if res := h.get(pq(sid)); res.status != 400 {
			t.Errorf("GET after: %d", res.status)
		}
	})
	t.Run("websocket", func(t *testing.T) {
		h := newHarness(t, nil)
		c := h.mustDial("?EIO=4&transport=websocket")
		c.next()
		s := h.rec.awaitOpen()
		s.Send(context.Background(), ws.Text, []byte("a"))
		s.Close()
		if got := c.next(); got != "4a" {
			t.Errorf("got %q", got)
		}
		if got := c.next(); got != "1" {
			t.Errorf("got %q, want the close packet", got)
		}
		if code := c.closeCode(); code != ws.CloseNormal {
			t.Errorf("close code %d", code)
		}
		if r := h.rec.awaitClose(s); !errors.Is(r, ErrServerClose) {
			t.Errorf("reason %v", r)
		}
	})
	t.Run("from inside Message", func(t *testing.T) {
		h := newHarness(t, nil)
		h.rec.onMessage = func(s *Socket, typ ws.MessageType, data []byte) {
			s.Send(context.Background(), typ, data)
			s.Close()
		}
		sid, s := h.open()
		h.post(pq(sid), "4bye\x1e4ignored")
		if res := h.get(pq(sid)); res.body != "4bye\x1e1" {
			t.Errorf("GET %q", res.body)
		}
		h.rec.awaitClose(s)
		if got := h.rec.messages(sid); len(got) != 1 {
			t.Errorf("messages %q: those after Close must be dropped", got)
		}
	})
	t.Run("not fetched", func(t *testing.T) {
		h := newHarness(t, &Options{PingInterval: 30 * time.Millisecond, PingTimeout: 30 * time.Millisecond})
		_, s := h.open()
		s.Close()
		if r := h.rec.awaitClose(s); !errors.Is(r, ErrServerClose) {
			t.Errorf("reason %v", r)
		}
	})
}

func TestShutdown(t *testing.T) { eachDriver(t, testShutdown) }

func testShutdown(t *testing.T) {
	h := newHarness(t, nil)
	sid, ps := h.open()
	c := h.mustDial("?EIO=4&transport=websocket")
	c.next()
	wsS := h.rec.awaitOpen()
	poll := make(chan response, 1)
	go func() { poll <- h.get(pq(sid)) }()
	h.awaitPendingGet(ps)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := h.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if res := <-poll; res.body != "1" {
		t.Errorf("pending GET got %q, want the close packet", res.body)
	}
	if code := c.closeCode(); code != ws.CloseGoingAway {
		t.Errorf("close code %d, want 1001", code)
	}
	for _, s := range []*Socket{ps, wsS} {
		if r := h.rec.awaitClose(s); !errors.Is(r, ErrServerShutdown) {
			t.Errorf("reason %v", r)
		}
	}
	if res := h.get("?EIO=4&transport=polling"); res.status != 503 {
		t.Errorf("handshake after Shutdown: %d", res.status)
	}
	if h.srv.Len() != 0 {
		t.Errorf("Len %d after Shutdown", h.srv.Len())
	}
}

func TestBackpressure(t *testing.T) { eachDriver(t, testBackpressure) }

func testBackpressure(t *testing.T) {
	h := newHarness(t, &Options{MaxBufferedAmount: 10})
	sid, s := h.open()
	ctx := context.Background()
	if err := s.Send(ctx, ws.Text, []byte("12345678")); err != nil {
		t.Fatal(err)
	}
	if n := s.BufferedAmount(); n != 9 {
		t.Errorf("BufferedAmount %d, want 9", n)
	}
	p, _ := NewPrepared(ws.Text, []byte("xx"))
	if err := s.TrySendPrepared(p); !errors.Is(err, ErrBufferFull) {
		t.Errorf("TrySendPrepared over the bound: %v", err)
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := s.Send(short, ws.Text, []byte("xx")); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Send over the bound: %v, want the context's error", err)
	}
	sent := make(chan error, 1)
	go func() { sent <- s.Send(ctx, ws.Text, []byte("next")) }()
	if res := h.get(pq(sid)); res.body != "412345678" {
		t.Errorf("GET %q", res.body)
	}
	if err := <-sent; err != nil {
		t.Errorf("Send after the GET drained: %v", err)
	}
	if res := h.get(pq(sid)); res.body != "4next" {
		t.Errorf("GET %q", res.body)
	}
	// A packet larger than the bound goes when nothing else is queued.
	if err := s.TrySendPrepared(mustPrepared(t, ws.Text, strings.Repeat("z", 50))); err != nil {
		t.Errorf("large packet on an empty queue: %v", err)
	}
	// A blocked Send is released by the end of the session.
	go func() { sent <- s.Send(ctx, ws.Text, []byte("blocked")) }()
	time.Sleep(10 * time.Millisecond)
	h.post(pq(sid), "1")
	if err := <-sent; !errors.Is(err, ErrClosed) || !errors.Is(err, ErrClientClose) {
		t.Errorf("blocked Send at close: %v", err)
	}
}

func mustPrepared(t *testing.T, typ ws.MessageType, s string) *Prepared {
	p, err := NewPrepared(typ, []byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSendPreparedIsAtomic(t *testing.T) { eachDriver(t, testSendPreparedIsAtomic) }

func testSendPreparedIsAtomic(t *testing.T) {
	h := newHarness(t, nil)
	sid, s := h.open()
	ctx := context.Background()
	a, b := mustPrepared(t, ws.Text, "451-[\"e\",{\"_placeholder\":true,\"num\":0}]"), mustPrepared(t, ws.Binary, "\x01")
	done := make(chan bool)
	for range 2 {
		go func() {
			for range 50 {
				s.SendPrepared(ctx, a, b)
			}
			done <- true
		}()
	}
	<-done
	<-done
	res := h.get(pq(sid))
	parts := strings.Split(res.body, "\x1e")
	if len(parts) != 200 {
		t.Fatalf("%d packets", len(parts))
	}
	for i := 0; i < len(parts); i += 2 {
		if parts[i][0] != '4' || parts[i+1] != "bAQ==" {
			t.Fatalf("packets %d, %d: %q %q: groups interleaved", i, i+1, parts[i], parts[i+1])
		}
	}
}

func TestWritable(t *testing.T) { eachDriver(t, testWritable) }

func testWritable(t *testing.T) {
	h := newHarness(t, nil)
	sid, s := h.open()
	if s.Writable() {
		t.Error("polling without a GET: writable")
	}
	poll := make(chan response, 1)
	go func() { poll <- h.get(pq(sid)) }()
	h.awaitPendingGet(s) // waits for Writable
	s.Send(context.Background(), ws.Text, []byte("x"))
	if s.Writable() {
		t.Error("a packet queued: writable")
	}
	<-poll
	c := h.mustDial("?EIO=4&transport=websocket")
	c.next()
	w := h.rec.awaitOpen()
	if !w.Writable() {
		t.Error("idle websocket: not writable")
	}
}

// TestOverlappingPost sends a POST whose body the server is reading (it
// asked for it with 100 Continue), then a second POST: the second is
// refused with 400 and the session ends (protocol v4, "Sending data").
func TestOverlappingPost(t *testing.T) { eachDriver(t, testOverlappingPost) }

func testOverlappingPost(t *testing.T) {
	h := newHarness(t, nil)
	sid, s := h.open()
	nc, err := net.Dial("tcp", h.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	fmt.Fprintf(nc, "POST /engine.io/%s HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nExpect: 100-continue\r\n\r\n", pq(sid))
	br := bufio.NewReader(nc)
	line, err := br.ReadString('\n')
	if err != nil || !strings.Contains(line, "100") {
		t.Fatalf("first POST: %q %v, want 100 Continue", line, err)
	}
	if res := h.post(pq(sid), "4second"); res.status != 400 {
		t.Errorf("second POST: %d, want 400", res.status)
	}
	if r := h.rec.awaitClose(s); !errors.Is(r, ErrTransportError) {
		t.Errorf("reason %v", r)
	}
	if res := h.get(pq(sid)); res.status != 400 {
		t.Errorf("GET after: %d", res.status)
	}
}

func TestLimits(t *testing.T) { eachDriver(t, testLimits) }

func testLimits(t *testing.T) {
	h := newHarness(t, &Options{MaxPayload: 100})
	t.Run("POST over maxPayload", func(t *testing.T) {
		sid, s := h.open()
		if res := h.post(pq(sid), "4"+strings.Repeat("x", 100)); res.status != 413 {
			t.Errorf("POST: %d, want 413", res.status)
		}
		r := h.rec.awaitClose(s)
		if !errors.Is(r, ErrTransportError) || !errors.Is(r, ErrPayloadTooLarge) {
			t.Errorf("reason %v", r)
		}
	})
	t.Run("chunked POST over maxPayload", func(t *testing.T) {
		sid, s := h.open()
		body := io.MultiReader(strings.NewReader("4"), strings.NewReader(strings.Repeat("y", 500)))
		res := h.do("POST", pq(sid), io.NopCloser(body), nil)
		if res.status != 413 {
			t.Errorf("POST: %d, want 413", res.status)
		}
		h.rec.awaitClose(s)
	})
	t.Run("POST at maxPayload", func(t *testing.T) {
		sid, s := h.open()
		if res := h.post(pq(sid), "4"+strings.Repeat("x", 99)); res.status != 200 {
			t.Errorf("POST: %d, want 200", res.status)
		}
		s.Close()
	})
	t.Run("WebSocket message over maxPayload", func(t *testing.T) {
		c := h.mustDial("?EIO=4&transport=websocket")
		c.next()
		s := h.rec.awaitOpen()
		c.send(ws.Text, "4"+strings.Repeat("x", 100))
		if code := c.closeCode(); code != ws.CloseMessageTooBig {
			t.Errorf("close code %d, want 1009", code)
		}
		if r := h.rec.awaitClose(s); !errors.Is(r, ErrTransportError) {
			t.Errorf("reason %v", r)
		}
	})
}

func TestHeartbeat(t *testing.T) { eachDriver(t, testHeartbeat) }

func testHeartbeat(t *testing.T) {
	// Each ping after the first comes only after the pong restarted the
	// interval; the long timeout keeps a busy machine from ending it.
	t.Run("pings over polling, pongs restart the interval", func(t *testing.T) {
		h := newHarness(t, &Options{PingInterval: 20 * time.Millisecond, PingTimeout: 5 * time.Second})
		sid, s := h.open()
		for i := range 5 {
			if res := h.get(pq(sid)); res.body != "2" {
				t.Fatalf("round %d: %q", i, res.body)
			}
			h.post(pq(sid), "3")
		}
		s.Close()
	})
}

// TestPongWaitExtendedByPackets drives the heartbeat's timer by hand: when
// the pong is due, a session that received any packet within PingTimeout
// is given until PingTimeout after that packet; a silent one is closed.
func TestPongWaitExtendedByPackets(t *testing.T) { eachDriver(t, testPongWaitExtendedByPackets) }

func testPongWaitExtendedByPackets(t *testing.T) {
	rec := newRecorder(t)
	srv := NewServer(&Options{Handler: rec, PingInterval: time.Hour, PingTimeout: time.Hour})
	s := newSocket(srv, httptestRequest(), false, false)
	if !s.open(func() bool { return true }) {
		t.Fatal("not opened")
	}
	rec.awaitOpen()
	timeout := int64(time.Hour)
	now := nanotime()
	s.mu.Lock()
	s.phase = phasePong
	s.due = now - 1 // the pong is due
	s.mu.Unlock()
	s.lastRecv.Store(now - timeout/2) // a packet half a timeout ago
	s.onTimer()
	s.mu.Lock()
	phase, due, state := s.phase, s.due, s.state
	s.mu.Unlock()
	if state != stateOpen || phase != phasePong || due < now+timeout/2-int64(time.Second) {
		t.Fatalf("after a recent packet: state %d, phase %d, due in %v; want open, waiting until PingTimeout after the packet",
			state, phase, time.Duration(due-now))
	}
	if s.overdue() {
		t.Fatal("overdue although a packet came within PingTimeout")
	}
	s.mu.Lock()
	s.due = nanotime() - 1
	s.mu.Unlock()
	s.lastRecv.Store(nanotime() - timeout - 1) // silent for a whole timeout
	s.onTimer()
	if r := rec.awaitClose(s); !errors.Is(r, ErrPingTimeout) {
		t.Errorf("reason %v", r)
	}
}

// TestLatePingTimer drives the heartbeat's timer by hand as a busy machine
// runs it: late. A ping that goes out late to a GET in flight (or on
// WebSocket) leaves the client the whole PingTimeout to answer; a polling
// client with no GET in flight is judged as if the ping had been queued on
// time, and a request after that deadline finds the session over, although
// the timer never ran.
func TestLatePingTimer(t *testing.T) { eachDriver(t, testLatePingTimer) }

func testLatePingTimer(t *testing.T) {
	const timeout = time.Hour
	newOpen := func(t *testing.T) (*Socket, *recorder) {
		rec := newRecorder(t)
		srv := NewServer(&Options{Handler: rec, PingInterval: time.Hour, PingTimeout: timeout})
		s := newSocket(srv, httptestRequest(), false, false)
		if !s.open(func() bool { return true }) {
			t.Fatal("not opened")
		}
		rec.awaitOpen()
		return s, rec
	}
	queued := func(s *Socket) bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return len(s.queue) == 1 && s.queue[0] == pingPacket
	}
	t.Run("a ping sent late to a GET in flight gets the whole timeout", func(t *testing.T) {
		s, _ := newOpen(t)
		s.mu.Lock()
		s.polling = true                    // a GET waits
		s.due = nanotime() - int64(timeout) // the ping is a whole timeout late
		s.mu.Unlock()
		before := nanotime()
		s.onTimer()
		s.mu.Lock()
		phase, due := s.phase, s.due
		s.mu.Unlock()
		if phase != phasePong || due < before+int64(timeout) {
			t.Fatalf("phase %d, pong due in %v; want the pong phase and the whole %v", phase, time.Duration(due-before), timeout)
		}
		if !queued(s) {
			t.Fatal("the ping is not queued")
		}
		if s.overdue() {
			t.Fatal("overdue at once")
		}
	})
	t.Run("a silent polling client is over at its deadline, timer or not", func(t *testing.T) {
		s, rec := newOpen(t)
		s.mu.Lock()
		s.due = nanotime() - int64(timeout) - 1 // the ping was due a timeout ago
		s.extra().pollEnd = s.due - 1           // and the last GET ended before
		s.mu.Unlock()
		s.lastRecv.Store(nanotime() - 2*int64(timeout))
		if !s.overdue() {
			t.Fatal("a request after the pong's deadline is served")
		}
		if r := rec.awaitClose(s); !errors.Is(r, ErrPingTimeout) {
			t.Errorf("reason %v", r)
		}
	})
	t.Run("a request before the deadline gets the late ping", func(t *testing.T) {
		s, _ := newOpen(t)
		s.mu.Lock()
		was := nanotime() - int64(timeout)/2 // the ping was due half a timeout ago
		s.due = was
		s.extra().pollEnd = was - 1
		s.mu.Unlock()
		s.lastRecv.Store(was - int64(time.Second))
		if s.overdue() {
			t.Fatal("a request within the pong's wait is refused")
		}
		s.mu.Lock()
		phase, due := s.phase, s.due
		s.mu.Unlock()
		if phase != phasePong || due != was+int64(timeout) {
			t.Fatalf("phase %d, pong due %v after the ping was; want the pong phase, due a timeout after the ping was", phase, time.Duration(due-was))
		}
		if !queued(s) {
			t.Fatal("the ping is not queued")
		}
	})
}

// TestPostArrivalCountsForThePong drives the timer by hand while a POST is
// being read: the pong's deadline passes after the POST arrived but before
// its body is decoded. The POST counts from its arrival: the session stays
// open and its pong restarts the interval.
func TestPostArrivalCountsForThePong(t *testing.T) { eachDriver(t, testPostArrivalCountsForThePong) }

func testPostArrivalCountsForThePong(t *testing.T) {
	rec := newRecorder(t)
	srv := NewServer(&Options{Handler: rec, PingInterval: time.Hour, PingTimeout: time.Hour})
	s := newSocket(srv, httptestRequest(), false, false)
	if !s.open(func() bool { return true }) {
		t.Fatal("not opened")
	}
	rec.awaitOpen()
	s.mu.Lock()
	s.phase = phasePong
	s.due = nanotime() + int64(time.Hour)
	s.mu.Unlock()
	s.lastRecv.Store(nanotime() - 2*int64(time.Hour)) // silent until the POST
	body, bw := io.Pipe()
	r := httptestRequest()
	r.Method = http.MethodPost
	r.Body = body
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.receive(httptest.NewRecorder(), r)
	}()
	for {
		s.mu.Lock()
		posting := s.posting
		s.mu.Unlock()
		if posting {
			break
		}
		time.Sleep(time.Millisecond)
	}
	s.mu.Lock()
	s.due = nanotime() - 1 // the deadline passes while the body is read
	s.mu.Unlock()
	s.onTimer()
	bw.Write([]byte("3"))
	bw.Close()
	<-done
	s.mu.Lock()
	state, phase := s.state, s.phase
	s.mu.Unlock()
	if state != stateOpen || phase != phaseInterval {
		t.Fatalf("state %d, phase %d; want open, waiting for the next ping", state, phase)
	}
}

func httptestRequest() *http.Request {
	r, _ := http.NewRequest("GET", "http://example.com/engine.io/?EIO=4&transport=polling", nil)
	r.RemoteAddr = "192.0.2.1:1234"
	return r
}

func TestUpgrade(t *testing.T) { eachDriver(t, testUpgrade) }

func testUpgrade(t *testing.T) {
	t.Run("pending GET gets a noop; queued packets follow on the WebSocket", func(t *testing.T) {
		h := newHarness(t, nil)
		sid, s := h.open()
		poll := make(chan response, 1)
		go func() { poll <- h.get(pq(sid)) }()
		h.awaitPendingGet(s)
		c := h.mustDial("?EIO=4&transport=websocket&sid=" + sid)
		c.send(ws.Text, "2probe")
		if got := c.next(); got != "3probe" {
			t.Fatalf("probe: %q", got)
		}
		if res := <-poll; res.body != "6" {
			t.Errorf("pending GET: %q, want 6", res.body)
		}
		if s.Transport() != Polling {
			t.Error("upgraded before the upgrade packet")
		}
		s.Send(context.Background(), ws.Text, []byte("queued"))
		s.Send(context.Background(), ws.Binary, []byte{7})
		c.send(ws.Text, "5")
		if got := c.next(); got != "4queued" {
			t.Errorf("got %q", got)
		}
		if typ, msg, _ := c.read(); typ != ws.Binary || msg != "\x07" {
			t.Errorf("got %v %q", typ, msg)
		}
		if s.Transport() != WebSocket || !s.Upgraded() {
			t.Error("not upgraded")
		}
		c.send(ws.Text, "4echo")
		if got := c.next(); got != "4echo" {
			t.Errorf("got %q", got)
		}
		if res := h.get(pq(sid)); res.status != 400 {
			t.Errorf("GET after the upgrade: %d", res.status)
		}
	})
	t.Run("messages sent during the upgrade arrive once, in order", func(t *testing.T) {
		h := newHarness(t, nil)
		sid, s := h.open()
		const n = 300
		go func() {
			for i := range n {
				s.Send(context.Background(), ws.Text, []byte(strconv.Itoa(i)))
			}
		}()
		var got []string
		collect := func(body string) {
			for _, p := range strings.Split(body, "\x1e") {
				if p != "6" && p != "2" {
					got = append(got, strings.TrimPrefix(p, "4"))
				}
			}
		}
		collect(h.get(pq(sid)).body)
		c := h.mustDial("?EIO=4&transport=websocket&sid=" + sid)
		c.send(ws.Text, "2probe")
		if m := c.next(); m != "3probe" {
			t.Fatalf("probe: %q", m)
		}
		collect(h.get(pq(sid)).body) // what was queued, or a noop
		c.send(ws.Text, "5")
		for len(got) < n {
			got = append(got, strings.TrimPrefix(c.next(), "4"))
		}
		for i, m := range got {
			if m != strconv.Itoa(i) {
				t.Fatalf("message %d is %q", i, m)
			}
		}
	})
	t.Run("probe timeout: the session goes on polling", func(t *testing.T) {
		h := newHarness(t, &Options{UpgradeTimeout: 50 * time.Millisecond})
		sid, s := h.open()
		c := h.mustDial("?EIO=4&transport=websocket&sid=" + sid)
		c.closeCode()
		h.post(pq(sid), "4still")
		if res := h.get(pq(sid)); res.body != "4still" {
			t.Errorf("GET %q", res.body)
		}
		c2 := h.upgrade(sid)
		c2.send(ws.Text, "4ws")
		if got := c2.next(); got != "4ws" {
			t.Errorf("got %q", got)
		}
		if s.Transport() != WebSocket {
			t.Error("second upgrade failed")
		}
	})
	t.Run("bad probe packet: the session goes on polling", func(t *testing.T) {
		h := newHarness(t, nil)
		sid, _ := h.open()
		c := h.mustDial("?EIO=4&transport=websocket&sid=" + sid)
		c.send(ws.Text, "4early")
		if code := c.closeCode(); code != ws.ClosePolicyViolation {
			t.Errorf("probe closed with %d", code)
		}
		h.post(pq(sid), "4still")
		if res := h.get(pq(sid)); res.body != "4still" {
			t.Errorf("GET %q", res.body)
		}
	})
	t.Run("second WebSocket refused", func(t *testing.T) {
		h := newHarness(t, nil)
		sid, _ := h.open()
		c := h.mustDial("?EIO=4&transport=websocket&sid=" + sid)
		c2 := h.mustDial("?EIO=4&transport=websocket&sid=" + sid)
		if code := c2.closeCode(); code != ws.ClosePolicyViolation {
			t.Errorf("second probe closed with %d", code)
		}
		c.send(ws.Text, "2probe")
		if got := c.next(); got != "3probe" {
			t.Errorf("first probe: %q", got)
		}
	})
	t.Run("websocket session refuses an upgrade", func(t *testing.T) {
		h := newHarness(t, nil)
		c := h.mustDial("?EIO=4&transport=websocket")
		c.next()
		s := h.rec.awaitOpen()
		c2 := h.mustDial("?EIO=4&transport=websocket&sid=" + s.ID())
		c2.closeCode()
		c.send(ws.Text, "4x")
		if got := c.next(); got != "4x" {
			t.Errorf("got %q", got)
		}
	})
	t.Run("upgrades disabled", func(t *testing.T) {
		h := newHarness(t, &Options{DisableUpgrades: true})
		res := h.get("?EIO=4&transport=polling")
		sid, _ := h.open2(res)
		if !strings.Contains(res.body, `"upgrades":[]`) {
			t.Errorf("handshake %s", res.body)
		}
		c := h.mustDial("?EIO=4&transport=websocket&sid=" + sid)
		c.closeCode()
	})
	t.Run("b64 sessions get binary as base64 text on WebSocket", func(t *testing.T) {
		h := newHarness(t, nil)
		c := h.mustDial("?EIO=4&transport=websocket&b64=1")
		c.next()
		c.send(ws.Binary, "\x01\x02\x03")
		if got := c.next(); got != "bAQID" {
			t.Errorf("got %q", got)
		}
	})
}

func TestCORS(t *testing.T) { eachDriver(t, testCORS) }

func testCORS(t *testing.T) {
	h := newHarness(t, &Options{CORS: &CORS{AllowOrigins: []string{"https://app.example"}, AllowCredentials: true, MaxAge: time.Hour}})
	pre := http.Header{"Origin": {"https://app.example"}, "Access-Control-Request-Method": {"POST"},
		"Access-Control-Request-Headers": {"content-type"}}
	res := h.do("OPTIONS", "?EIO=4&transport=polling", nil, pre)
	if res.status != 204 {
		t.Errorf("preflight: %d", res.status)
	}
	for k, v := range map[string]string{
		"Access-Control-Allow-Origin":      "https://app.example",
		"Access-Control-Allow-Credentials": "true",
		"Access-Control-Allow-Methods":     "GET,HEAD,PUT,PATCH,POST,DELETE",
		"Access-Control-Allow-Headers":     "content-type",
		"Access-Control-Max-Age":           "3600",
	} {
		if got := res.header.Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
	pre.Set("Origin", "https://evil.example")
	res = h.do("OPTIONS", "?EIO=4&transport=polling", nil, pre)
	if res.header.Get("Access-Control-Allow-Origin") != "" || res.header.Get("Access-Control-Allow-Methods") != "" {
		t.Errorf("disallowed origin got %v", res.header)
	}
	res = h.do("GET", "?EIO=4&transport=polling", nil, http.Header{"Origin": {"https://app.example"}})
	if res.status != 200 || res.header.Get("Access-Control-Allow-Origin") != "https://app.example" {
		t.Errorf("handshake: %d %v", res.status, res.header)
	}
	h.rec.awaitOpen()
	res = h.do("GET", "?EIO=4&transport=nope", nil, http.Header{"Origin": {"https://app.example"}})
	if res.header.Get("Access-Control-Allow-Origin") == "" {
		t.Error("error answers lack CORS headers (the page could not read them)")
	}
	// The WebSocket transport admits the same origins.
	if _, _, err := h.dial("?EIO=4&transport=websocket", http.Header{"Origin": {"https://app.example"}}); err != nil {
		t.Errorf("allowed origin, WebSocket: %v", err)
	}
	if _, r, err := h.dial("?EIO=4&transport=websocket", http.Header{"Origin": {"https://evil.example"}}); err == nil || r == nil || r.StatusCode != 403 {
		t.Errorf("other origin, WebSocket: %v %v, want 403", err, r)
	}

	any := newHarness(t, &Options{CORS: &CORS{AllowOrigins: []string{"*"}}})
	res = any.do("GET", "?EIO=4&transport=polling", nil, http.Header{"Origin": {"https://x.example"}})
	if res.header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("any origin: %v", res.header)
	}
}

func TestCompression(t *testing.T) { eachDriver(t, testCompression) }

func testCompression(t *testing.T) {
	big := strings.Repeat("compressible ", 200)
	h := newHarness(t, nil)
	sid, s := h.open()
	for _, tc := range []struct {
		accept, want string
	}{
		{"gzip", "gzip"},
		{"deflate", "deflate"},
		{"gzip;q=0, deflate", "deflate"},
		{"deflate;q=0.5, gzip;q=0.8", "gzip"},
		{"*", "gzip"},
		{"br", ""},
		{"", ""},
	} {
		s.Send(context.Background(), ws.Text, []byte(big))
		res := h.do("GET", pq(sid), nil, http.Header{"Accept-Encoding": {tc.accept}})
		if got := res.header.Get("Content-Encoding"); got != tc.want {
			t.Errorf("Accept-Encoding %q: Content-Encoding %q, want %q", tc.accept, got, tc.want)
			continue
		}
		var body []byte
		var err error
		switch tc.want {
		case "gzip":
			zr, e := gzip.NewReader(strings.NewReader(res.body))
			if e != nil {
				t.Fatal(e)
			}
			body, err = io.ReadAll(zr)
		case "deflate":
			zr, e := zlib.NewReader(strings.NewReader(res.body))
			if e != nil {
				t.Fatal(e)
			}
			body, err = io.ReadAll(zr)
		default:
			body = []byte(res.body)
		}
		if err != nil || string(body) != "4"+big {
			t.Errorf("Accept-Encoding %q: body %d bytes (%v)", tc.accept, len(body), err)
		}
		if tc.want != "" && len(res.body) >= len(big) {
			t.Errorf("not smaller: %d", len(res.body))
		}
	}
	s.Send(context.Background(), ws.Text, []byte("small"))
	if res := h.do("GET", pq(sid), nil, http.Header{"Accept-Encoding": {"gzip"}}); res.header.Get("Content-Encoding") != "" {
		t.Error("a response under the threshold was compressed")
	}

	off := newHarness(t, &Options{HTTPCompressionThreshold: -1})
	sid, s = off.open()
	s.Send(context.Background(), ws.Text, []byte(big))
	if res := off.do("GET", pq(sid), nil, http.Header{"Accept-Encoding": {"gzip"}}); res.header.Get("Content-Encoding") != "" {
		t.Error("compressed with compression off")
	}
}

func TestCookie(t *testing.T) { eachDriver(t, testCookie) }

func testCookie(t *testing.T) {
	h := newHarness(t, &Options{Cookie: &http.Cookie{Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode}})
	res := h.get("?EIO=4&transport=polling")
	sid, _ := h.open2(res)
	if got, want := res.header.Get("Set-Cookie"), "io="+sid+"; Path=/; HttpOnly; SameSite=Lax"; got != want {
		t.Errorf("Set-Cookie %q, want %q", got, want)
	}
	_, r, err := h.dial("?EIO=4&transport=websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	s := h.rec.awaitOpen()
	if got := r.Header.Get("Set-Cookie"); got != "io="+s.ID()+"; Path=/; HttpOnly; SameSite=Lax" {
		t.Errorf("WebSocket Set-Cookie %q", got)
	}
}

func TestAcceptedEncoding(t *testing.T) { eachDriver(t, testAcceptedEncoding) }

func testAcceptedEncoding(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"gzip, deflate, br", "gzip"},
		{"deflate", "deflate"},
		{"GZIP", "gzip"},
		{"x-gzip", "gzip"},
		{"gzip;q=0", ""},
		{"gzip;q=0.1, deflate;q=0.2", "deflate"},
		{"*;q=0.5", "gzip"},
		{"*;q=0", ""},
		{"gzip;q=bad", ""},
		{"identity", ""},
		{"gzip; q=1.5", ""},
	} {
		if got := acceptedEncoding([]string{tc.in}); got != tc.want {
			t.Errorf("%q: %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestRequestIsKept(t *testing.T) { eachDriver(t, testRequestIsKept) }

func testRequestIsKept(t *testing.T) {
	h := newHarness(t, nil)
	res := h.do("GET", "?EIO=4&transport=polling&token=abc", nil, http.Header{"X-Test": {"1"}})
	_, s := h.open2(res)
	r := s.Request()
	if r.Method != "GET" || r.URL.Query().Get("token") != "abc" || r.Header.Get("X-Test") != "1" ||
		r.RemoteAddr == "" || r.Host == "" || r.ProtoMajor != 1 || r.URL.Path != "/engine.io/" {
		t.Errorf("request %+v", r)
	}
	c, res2, err := h.dial("?EIO=4&transport=websocket&x=1", http.Header{"Cookie": {"a=1; b=2"}, "X-Multi": {"1", "2: colon"}})
	if err != nil {
		t.Fatal(err)
	}
	_ = res2
	c.next()
	wr := h.rec.awaitOpen().Request()
	if wr.Header.Get("Cookie") != "a=1; b=2" || !slices.Equal(wr.Header["X-Multi"], []string{"1", "2: colon"}) ||
		wr.Header.Get("Sec-WebSocket-Key") != "" || wr.Header.Get("Upgrade") != "" || wr.URL.RawQuery != "EIO=4&transport=websocket&x=1" {
		t.Errorf("WebSocket handshake request %+v", wr)
	}
	if r.Body != http.NoBody {
		t.Error("the request's body is kept")
	}
	if err := s.Context().Err(); err != nil {
		t.Errorf("context of an open session: %v", err)
	}
	s.Close()
	h.get(pq(s.ID()))
	h.rec.awaitClose(s)
	if cause := context.Cause(s.Context()); !errors.Is(cause, ErrServerClose) {
		t.Errorf("context cause %v", cause)
	}
}

// The v4 client posts text; a body marked application/octet-stream, which
// the protocol allows a sender to use, is read as the same payload.
func TestPostOctetStream(t *testing.T) { eachDriver(t, testPostOctetStream) }

func testPostOctetStream(t *testing.T) {
	h := newHarness(t, nil)
	sid, _ := h.open()
	res := h.do("POST", pq(sid), strings.NewReader("4a\x1ebAQ=="), http.Header{"Content-Type": {"application/octet-stream"}})
	if res.status != 200 || res.body != "ok" {
		t.Fatalf("POST %d %q", res.status, res.body)
	}
	if res := h.get(pq(sid)); res.body != "4a\x1ebAQ==" {
		t.Errorf("echo %q", res.body)
	}
	if res.header.Get("Content-Type") != "text/html" {
		t.Errorf("POST answer Content-Type %q", res.header.Get("Content-Type"))
	}
}

// A GET that the client sent before its close packet, but that the server
// handles after it, gets the noop a pending GET gets; once.
func TestPollCrossingTheClosePacket(t *testing.T) { eachDriver(t, testPollCrossingTheClosePacket) }

func testPollCrossingTheClosePacket(t *testing.T) {
	h := newHarness(t, nil)
	sid, s := h.open()
	h.post(pq(sid), "1")
	h.rec.awaitClose(s)
	if res := h.get(pq(sid)); res.status != 200 || res.body != "6" {
		t.Errorf("GET after the close packet: %d %q, want 200 \"6\"", res.status, res.body)
	}
	if res := h.get(pq(sid)); res.status != 400 {
		t.Errorf("second GET: %d, want 400", res.status)
	}
	sid, s = h.open()
	h.post(pq(sid), "1")
	h.rec.awaitClose(s)
	if res := h.post(pq(sid), "4x"); res.status != 400 {
		t.Errorf("POST after the close packet: %d, want 400", res.status)
	}
}

// A GET that comes while a probe WebSocket is open is held for the upgrade:
// refused if the upgrade completes, a noop if it does not in time.
func TestPollDuringUpgrade(t *testing.T) { eachDriver(t, testPollDuringUpgrade) }

func testPollDuringUpgrade(t *testing.T) {
	h := newHarness(t, nil)
	sid, s := h.open()
	c := h.mustDial("?EIO=4&transport=websocket&sid=" + sid)
	poll := make(chan response, 1)
	go func() { poll <- h.get(pq(sid)) }()
	h.awaitPendingGet(s)
	c.send(ws.Text, "2probe")
	c.send(ws.Text, "5")
	if res := <-poll; res.status != 400 {
		t.Errorf("GET held through the upgrade: %d %q, want 400", res.status, res.body)
	}
	c.send(ws.Text, "4after")
	if got := c.next(); got != "3probe" {
		t.Errorf("got %q", got)
	}
	if got := c.next(); got != "4after" {
		t.Errorf("got %q", got)
	}

	sid, _ = h.open()
	c = h.mustDial("?EIO=4&transport=websocket&sid=" + sid)
	c.send(ws.Text, "2probe")
	c.next()
	start := time.Now()
	if res := h.get(pq(sid)); res.status != 200 || res.body != "6" {
		t.Errorf("GET after the probe, no upgrade: %d %q, want a noop", res.status, res.body)
	}
	if d := time.Since(start); d < lateGetWait {
		t.Errorf("answered after %v, before the upgrade had %v", d, lateGetWait)
	}
}
