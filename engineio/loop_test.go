package engineio

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/client"
	"github.com/rfc6455/ws/internal/looptest"
)

// rawHandshake sends a WebSocket opening handshake for target to addr and
// returns the answer's status, Content-Type and body.
func rawHandshake(t *testing.T, addr, target string) (int, string, string) {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(testTimeout))
	fmt.Fprintf(nc, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", target, addr)
	res, err := http.ReadResponse(bufio.NewReader(nc), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode == http.StatusSwitchingProtocols {
		return res.StatusCode, "", ""
	}
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header.Get("Content-Type"), string(b)
}

// TestWebSocketRefusals: a WebSocket handshake that Engine.IO refuses gets
// the same answer from both drivers (the reference server's status and
// JSON body), with the CORS headers of the policy.
func TestWebSocketRefusals(t *testing.T) { eachDriver(t, testWebSocketRefusals) }

func testWebSocketRefusals(t *testing.T) {
	h := newHarness(t, &Options{
		CORS: &CORS{AllowOrigins: []string{"*"}},
		AllowRequest: func(r *http.Request) error {
			if r.URL.Query().Get("deny") != "" {
				return errors.New("no entry")
			}
			return nil
		},
	})
	for _, tc := range []struct {
		query  string
		status int
		body   string
	}{
		{"?EIO=4&transport=abc", 400, `{"code":0,"message":"Transport unknown"}`},
		{"?EIO=4&transport=websocket&sid=nope", 400, `{"code":1,"message":"Session ID unknown"}`},
		{"?EIO=4&transport=websocket&deny=1", 403, `{"code":4,"message":"no entry"}`},
		{"?EIO=3&transport=websocket", 400, `{"code":5,"message":"Unsupported protocol version"}`},
		{"?transport=websocket", 400, `{"code":5,"message":"Unsupported protocol version"}`},
	} {
		status, ctype, body := rawHandshake(t, h.addr, "/engine.io/"+tc.query)
		if status != tc.status || ctype != "application/json" || body != tc.body {
			t.Errorf("%s: %d %q %s, want %d application/json %s", tc.query, status, ctype, body, tc.status, tc.body)
		}
	}
	// And the CORS headers on a refusal, as on polling.
	req, _ := http.NewRequest("GET", h.url+"?EIO=3&transport=websocket", nil)
	req.Header.Set("Origin", "https://elsewhere.example")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	req.Header.Set("Sec-WebSocket-Version", "13")
	res, err := h.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 400 || res.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("refusal with an Origin: %d, Access-Control-Allow-Origin %q", res.StatusCode, res.Header.Get("Access-Control-Allow-Origin"))
	}
}

// TestLoopMux: two servers on one loop.Server, routed by prefix, each
// with its own MaxPayload (a larger message closes the session with 1009
// and ErrTransportError, though the loop reads up to the larger one); a
// path under no prefix is answered 404; a polling request that asks for a
// WebSocket is refused (400, code 3); plain HTTP goes to HandleHTTP's
// handler.
func TestLoopMux(t *testing.T) {
	recA, recB := newRecorder(t), newRecorder(t)
	a := NewServer(&Options{Handler: recA, MaxPayload: 100})
	b := NewServer(&Options{Handler: recB, MaxPayload: 10_000})
	mux := NewLoopMux()
	mux.Handle("/a/", a)
	mux.Handle("/b/", b)
	mux.HandleHTTP("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "page") }))
	addr, stop := looptest.Serve(t, mux.Server(), testTimeout)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		a.Shutdown(ctx)
		b.Shutdown(ctx)
		stop()
	})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	dial := func(path string) *ws.Conn {
		c, _, err := client.Dial(ctx, "ws://"+addr+path+"?EIO=4&transport=websocket", nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, msg, err := c.ReadMessage(ctx, nil); err != nil || !strings.HasPrefix(string(msg), "0{") {
			t.Fatalf("open packet: %q %v", msg, err)
		}
		return c
	}
	big := "4" + strings.Repeat("x", 500)
	cb := dial("/b/")
	sb := recB.awaitOpen()
	if err := cb.WriteMessage(ctx, ws.Text, []byte(big)); err != nil {
		t.Fatal(err)
	}
	ca := dial("/a/")
	sa := recA.awaitOpen()
	if err := ca.WriteMessage(ctx, ws.Text, []byte(big)); err != nil {
		t.Fatal(err)
	}
	var ce *ws.CloseError
	if _, _, err := ca.ReadMessage(ctx, nil); !errors.As(err, &ce) || ce.Code != ws.CloseMessageTooBig {
		t.Errorf("over a's MaxPayload: %v, want close 1009", err)
	}
	if err := recA.awaitClose(sa); !errors.Is(err, ErrTransportError) {
		t.Errorf("a's session closed with %v, want ErrTransportError", err)
	}
	if got := recB.messages(sb.ID()); len(got) != 1 || len(got[0]) != len(big)-1 {
		t.Errorf("b got %d messages, want the one of %d bytes", len(got), len(big)-1)
	}
	cb.CloseNow()
	if status, _, body := rawHandshake(t, addr, "/c/?EIO=4&transport=websocket"); status != 404 {
		t.Errorf("under no prefix: %d %q, want 404", status, body)
	}
	if status, ctype, body := rawHandshake(t, addr, "/a/?EIO=4&transport=polling"); status != 400 || ctype != "application/json" || body != `{"code":3,"message":"Bad request"}` {
		t.Errorf("polling with Upgrade: %d %q %s", status, ctype, body)
	}
	res, err := http.Get("http://" + addr + "/page")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(page) != "page" {
		t.Errorf("page: %q", page)
	}
}

// TestOnEventLoop: Handler.Message runs on the event loop on the
// event-loop driver's WebSocket (OnEventLoop), and not for polling.
func TestOnEventLoop(t *testing.T) { eachDriver(t, testOnEventLoop) }

func testOnEventLoop(t *testing.T) {
	got := make(chan bool, 2)
	h := newHarness(t, &Options{Handler: HandlerFuncs{OnMessage: func(s *Socket, _ ws.MessageType, _ []byte) {
		got <- s.OnEventLoop()
	}}})
	onLoop := looptest.OnLoop(t)
	c := h.mustDial("?EIO=4&transport=websocket")
	c.next()
	c.send(ws.Text, "4hi")
	if v := <-got; v != onLoop {
		t.Errorf("WebSocket: OnEventLoop %v, want %v", v, onLoop)
	}
	res := h.get("?EIO=4&transport=polling")
	var sid string
	if i := strings.Index(res.body, `"sid":"`); i >= 0 {
		sid, _, _ = strings.Cut(res.body[i+7:], `"`)
	}
	h.post(pq(sid), "4hi")
	if v := <-got; v {
		t.Error("polling: OnEventLoop true")
	}
}

// TestUpgradeReservationLapses: a session reserved for an upgrade whose
// connection never opens (the event loop's goroutine driver does not
// report a handshake that failed after the decision) can be reserved again
// after UpgradeTimeout.
func TestUpgradeReservationLapses(t *testing.T) { eachDriver(t, testUpgradeReservationLapses) }

func testUpgradeReservationLapses(t *testing.T) {
	h := newHarness(t, &Options{UpgradeTimeout: 50 * time.Millisecond})
	_, s := h.open()
	if !s.reserveUpgrade() {
		t.Fatal("no reservation")
	}
	if s.reserveUpgrade() {
		t.Fatal("a second reservation while the first holds")
	}
	deadline := time.Now().Add(testTimeout)
	for !s.reserveUpgrade() {
		if time.Now().After(deadline) {
			t.Fatal("the reservation did not lapse")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// The new reservation is undone at once, as when a handshake fails.
	s.unreserveUpgrade()
	if !s.reserveUpgrade() {
		t.Fatal("no reservation after unreserveUpgrade")
	}
	s.unreserveUpgrade()
}

// TestLoopDoesNotWaitForAPOST: a message read on the event loop while a
// POST of the same session is still in its Handler's Message call (sent
// just before an upgrade) must not hold the loop, which serves other
// connections, until that call returns; it waits in the session's queue
// and comes after the POST's message.
func TestLoopDoesNotWaitForAPOST(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	var releaseOnce sync.Once
	unblock := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(unblock)
	otherServed := make(chan struct{}, 1)
	var mu sync.Mutex
	got := map[string][]string{}
	srv := NewServer(&Options{Handler: HandlerFuncs{OnMessage: func(s *Socket, _ ws.MessageType, data []byte) {
		msg := string(data)
		if msg == "block" {
			close(entered)
			<-release
		}
		mu.Lock()
		got[s.ID()] = append(got[s.ID()], msg)
		mu.Unlock()
		if msg == "other" {
			otherServed <- struct{}{}
		}
	}}})
	mux := NewLoopMux()
	mux.Handle("/engine.io/", srv)
	ls := mux.Server()
	ls.Loops = 1 // both sessions on one loop
	addr, stop := looptest.Serve(t, ls, testTimeout)
	base := "http://" + addr
	h := &harness{t: t, srv: srv, addr: addr, url: base + "/engine.io/", wsURL: "ws://" + addr + "/engine.io/",
		hc: &http.Client{Timeout: testTimeout, Transport: &http.Transport{DisableCompression: true}}}
	t.Cleanup(func() {
		unblock()
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		srv.Shutdown(ctx)
		h.hc.CloseIdleConnections()
		stop()
	})

	res := h.get("?EIO=4&transport=polling")
	var sid string
	if i := strings.Index(res.body, `"sid":"`); i >= 0 {
		sid, _, _ = strings.Cut(res.body[i+7:], `"`)
	}
	if sid == "" {
		t.Fatalf("handshake: %d %q", res.status, res.body)
	}
	posted := make(chan error, 1)
	go func() {
		r, err := h.hc.Post(h.url+pq(sid), "text/plain;charset=UTF-8", strings.NewReader("4block"))
		if err == nil {
			b, _ := io.ReadAll(r.Body)
			r.Body.Close()
			if r.StatusCode != http.StatusOK || string(b) != "ok" {
				err = fmt.Errorf("POST answered %d %q", r.StatusCode, b)
			}
		}
		posted <- err
	}()
	select {
	case <-entered:
	case <-time.After(testTimeout):
		t.Fatal("the POST's message did not reach the Handler")
	}
	c := h.upgrade(sid)
	c.send(ws.Text, "4after")

	// Another session on the same loop is served meanwhile.
	other := h.mustDial("?EIO=4&transport=websocket")
	other.next() // the open packet
	other.send(ws.Text, "4other")
	select {
	case <-otherServed:
	case <-time.After(testTimeout):
		t.Fatal("the event loop waited for the POST's Handler call: another session's message was not delivered")
	}

	unblock()
	if err := <-posted; err != nil {
		t.Fatal(err)
	}
	c.send(ws.Text, "4later") // the reading paused for the queue resumed
	deadline := time.Now().Add(testTimeout)
	want := "[block after later]"
	for {
		mu.Lock()
		seq := fmt.Sprint(got[sid])
		mu.Unlock()
		if seq == want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("session's messages %s, want %s", seq, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestSocketSize: every idle session has a Socket; 224 bytes is a size
// class of the allocator, and state few sessions use goes to sessionMore.
func TestSocketSize(t *testing.T) {
	if n := unsafe.Sizeof(Socket{}); n > 224 {
		t.Errorf("engineio.Socket is %d bytes, over 224: move what an idle WebSocket session does not use to sessionMore", n)
	}
}
