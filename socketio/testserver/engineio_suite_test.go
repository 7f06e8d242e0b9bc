package main

// The official Engine.IO protocol test suite (test-suite/test-suite.js of
// socketio/engine.io-protocol, the revision 4 version: 24 cases), written
// as Go tests against the agent's handler, over raw HTTP and raw
// WebSocket as the suite does. Each test is named after its case
// ("describe" path and "it" title). Where the suite leaves an ordering to
// chance (two requests raced over two connections), the Go test makes the
// order the suite expects certain, and says how; no assertion is weaker.
// Where the suite relies on finishing before the agent's heartbeat
// interferes, each case runs as attempts (runCase, attempt_test.go).

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/client"
	"github.com/rfc6455/ws/engineio"
)

const (
	suitePingInterval = 300 * time.Millisecond
	suitePingTimeout  = 200 * time.Millisecond
)

// agent is the agent's server under test, built as newServer builds it,
// with a handle on the Engine.IO server so that a test can wait until a
// GET is pending before racing another request against it.
type agent struct {
	t     *attempt
	eng   *engineio.Server
	url   string // http://127.0.0.1:port
	wsURL string
	hc    *http.Client
}

func newAgent(t *attempt) *agent {
	t.Helper()
	a := &agent{t: t, eng: newEngineIO(), hc: &http.Client{Timeout: 10 * time.Second}}
	a.url = t.serve(a.eng, newSocketIO())
	a.wsURL = "ws" + strings.TrimPrefix(a.url, "http")
	return a
}

// response is a finished HTTP exchange.
type response struct {
	status int
	body   string
	header http.Header
}

func (a *agent) do(method, query, body string) response {
	a.t.Helper()
	res, err := fetch(a.hc, method, a.url+"/engine.io/"+query, body)
	if err != nil {
		a.t.Fatal(err)
	}
	return res
}

// fetch makes one request and reads its answer.
func fetch(hc *http.Client, method, url, body string) (response, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return response{}, err
	}
	res, err := hc.Do(req)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: reading the body: %w", method, url, err)
	}
	return response{res.StatusCode, string(b), res.Header}, nil
}

func (a *agent) get(query string) response        { return a.do(http.MethodGet, query, "") }
func (a *agent) post(query, body string) response { return a.do(http.MethodPost, query, body) }

// getAsync sends a GET from a goroutine of its own (which must not fail
// the attempt) and returns where its answer comes; a failed request is
// status 0, its error the body.
func (a *agent) getAsync(query string) <-chan response {
	ch := make(chan response, 1)
	go func() {
		res, err := fetch(a.hc, http.MethodGet, a.url+"/engine.io/"+query, "")
		if err != nil {
			res.body = err.Error()
		}
		ch <- res
	}()
	return ch
}

// handshakeValue is the JSON of an open packet.
type handshakeValue map[string]any

// checkHandshake checks an open packet as the suite does: "0", then
// exactly the keys sid, upgrades, pingInterval, pingTimeout and
// maxPayload, with the agent's values.
func checkHandshake(t *attempt, content string, upgrades []string) string {
	t.Helper()
	if !strings.HasPrefix(content, "0") {
		t.Fatalf("handshake %q does not start with 0", content)
	}
	var v handshakeValue
	if err := json.Unmarshal([]byte(content[1:]), &v); err != nil {
		t.Fatalf("handshake %q: %v", content, err)
	}
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if want := []string{"maxPayload", "pingInterval", "pingTimeout", "sid", "upgrades"}; !slices.Equal(keys, want) {
		t.Fatalf("handshake keys %v, want exactly %v", keys, want)
	}
	sid, ok := v["sid"].(string)
	if !ok {
		t.Fatalf("sid %v is not a string", v["sid"])
	}
	var got []string
	list, ok := v["upgrades"].([]any)
	if !ok {
		t.Fatalf("upgrades %v is not an array", v["upgrades"])
	}
	for _, u := range list {
		s, _ := u.(string)
		got = append(got, s)
	}
	if !slices.Equal(got, upgrades) {
		t.Errorf("upgrades %v, want %v", got, upgrades)
	}
	if v["pingInterval"] != 300.0 || v["pingTimeout"] != 200.0 || v["maxPayload"] != 1000000.0 {
		t.Errorf("pingInterval %v, pingTimeout %v, maxPayload %v; want 300, 200, 1000000",
			v["pingInterval"], v["pingTimeout"], v["maxPayload"])
	}
	return sid
}

// openPolling starts a polling session and returns its sid.
func (a *agent) openPolling() string {
	a.t.Helper()
	a.t.sessionStarts()
	res := a.get("?EIO=4&transport=polling")
	if res.status != 200 {
		a.t.Fatalf("handshake: status %d %q", res.status, res.body)
	}
	var v struct{ Sid string }
	if err := json.Unmarshal([]byte(res.body[1:]), &v); err != nil || v.Sid == "" {
		a.t.Fatalf("handshake %q: %v", res.body, err)
	}
	return v.Sid
}

func sidQuery(sid string) string { return "?EIO=4&transport=polling&sid=" + sid }

// awaitPendingGet waits until a GET of session sid is waiting for packets
// in the server; get is that GET's answer, which must not come first.
func (a *agent) awaitPendingGet(sid string, get <-chan response) {
	a.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		select {
		case res := <-get:
			a.t.Fatalf("the GET was answered before it could be raced: %d %q", res.status, res.body)
		default:
		}
		if s := a.eng.Socket(sid); s != nil && s.Writable() {
			return
		}
		if time.Now().After(deadline) {
			a.t.Fatalf("no GET of session %s is pending in the server", sid)
		}
		time.Sleep(time.Millisecond)
	}
}

// wsConn is a raw WebSocket connection to the agent.
type wsConn struct {
	t *attempt
	c *ws.Conn
}

func (a *agent) dial(query string) *wsConn {
	a.t.Helper()
	a.t.sessionStarts()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := client.Dial(ctx, a.wsURL+"/engine.io/"+query, nil)
	if err != nil {
		a.t.Fatalf("dial %s: %v", query, err)
	}
	a.t.Cleanup(func() { c.CloseNow() })
	return &wsConn{a.t, c}
}

// read returns the next message, failing the test after 5 s.
func (w *wsConn) read() (ws.MessageType, string) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	typ, msg, err := w.c.ReadMessage(ctx, nil)
	if err != nil {
		w.t.Fatalf("read: %v", err)
	}
	return typ, string(msg)
}

// readText returns the next message, which must be text.
func (w *wsConn) readText() string {
	w.t.Helper()
	typ, msg := w.read()
	if typ != ws.Text {
		w.t.Fatalf("got a %v message %q, want text", typ, msg)
	}
	return msg
}

// next returns the next text message other than a ping, answering pings
// with pongs: the agent pings every 300 ms, and a busy machine may stretch
// a test past that.
func (w *wsConn) next() string {
	w.t.Helper()
	for {
		msg := w.readText()
		if msg != "2" {
			return msg
		}
		w.send(ws.Text, "3")
	}
}

func (w *wsConn) send(typ ws.MessageType, msg string) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.c.WriteMessage(ctx, typ, []byte(msg)); err != nil {
		w.t.Fatalf("send %q: %v", msg, err)
	}
}

// awaitClose reads until the server closes the connection (a close frame
// or the end of TCP), within 5 s; messages before it are skipped.
func (w *wsConn) awaitClose() {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		_, _, err := w.c.ReadMessage(ctx, nil)
		if err == nil {
			continue
		}
		if ctx.Err() != nil {
			w.t.Fatalf("the server did not close the connection: %v", err)
		}
		return
	}
}

// dialRefused checks that a WebSocket handshake is refused with 400.
func (a *agent) dialRefused(query string) {
	a.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, res, err := client.Dial(ctx, a.wsURL+"/engine.io/"+query, nil)
	if err == nil {
		c.CloseNow()
		a.t.Fatalf("dial %s: accepted, want a refusal", query)
	}
	if res == nil || res.StatusCode != 400 {
		a.t.Fatalf("dial %s: %v (response %v), want HTTP 400", query, err, res)
	}
}

func TestEngineIO_Handshake_Polling_SuccessfullyOpensASession(t *testing.T) {
	runCase(t, func(t *attempt) {
		a := newAgent(t)
		res := a.get("?EIO=4&transport=polling")
		if res.status != 200 {
			t.Fatalf("status %d, want 200", res.status)
		}
		checkHandshake(t, res.body, []string{"websocket"})
	})
}

func TestEngineIO_Handshake_Polling_FailsWithAnInvalidEIOQueryParameter(t *testing.T) {
	runCase(t, func(t *attempt) {
		a := newAgent(t)
		if res := a.get("?transport=polling"); res.status != 400 {
			t.Errorf("no EIO: status %d, want 400", res.status)
		}
		if res := a.get("?EIO=abc&transport=polling"); res.status != 400 {
			t.Errorf("EIO=abc: status %d, want 400", res.status)
		}
	})
}

func TestEngineIO_Handshake_Polling_FailsWithAnInvalidTransportQueryParameter(t *testing.T) {
	runCase(t, func(t *attempt) {
		a := newAgent(t)
		if res := a.get("?EIO=4"); res.status != 400 {
			t.Errorf("no transport: status %d, want 400", res.status)
		}
		if res := a.get("?EIO=4&transport=abc"); res.status != 400 {
			t.Errorf("transport=abc: status %d, want 400", res.status)
		}
	})
}

func TestEngineIO_Handshake_Polling_FailsWithAnInvalidRequestMethod(t *testing.T) {
	runCase(t, func(t *attempt) {
		a := newAgent(t)
		if res := a.do(http.MethodPost, "?EIO=4&transport=polling", ""); res.status != 400 {
			t.Errorf("POST: status %d, want 400", res.status)
		}
		if res := a.do(http.MethodPut, "?EIO=4&transport=polling", ""); res.status != 400 {
			t.Errorf("PUT: status %d, want 400", res.status)
		}
	})
}

func TestEngineIO_Handshake_WebSocket_SuccessfullyOpensASession(t *testing.T) {
	runCase(t, func(t *attempt) {
		a := newAgent(t)
		c := a.dial("?EIO=4&transport=websocket")
		checkHandshake(t, c.readText(), []string{})
	})
}

// The suite opens these WebSockets and awaits nothing; the Go test checks
// that the handshake is refused with 400, as the reference server does.
func TestEngineIO_Handshake_WebSocket_FailsWithAnInvalidEIOQueryParameter(t *testing.T) {
	runCase(t, func(t *attempt) {
		a := newAgent(t)
		a.dialRefused("?transport=websocket")
		a.dialRefused("?EIO=abc&transport=websocket")
	})
}

func TestEngineIO_Handshake_WebSocket_FailsWithAnInvalidTransportQueryParameter(t *testing.T) {
	runCase(t, func(t *attempt) {
		a := newAgent(t)
		a.dialRefused("?EIO=4")
		a.dialRefused("?EIO=4&transport=abc")
	})
}

// pushAndPoll posts body to a new session, expects "ok", and returns what
// the next GET gets.
func pushAndPoll(t *attempt, body string) string {
	a := newAgent(t)
	sid := a.openPolling()
	push := a.post(sidQuery(sid), body)
	if push.status != 200 || push.body != "ok" {
		t.Fatalf("POST: status %d %q, want 200 \"ok\"", push.status, push.body)
	}
	poll := a.get(sidQuery(sid))
	if poll.status != 200 {
		t.Fatalf("GET: status %d, want 200", poll.status)
	}
	return poll.body
}

func TestEngineIO_Message_Polling_SendsAndReceivesAPayloadContainingOnePlainTextPacket(t *testing.T) {
	runCase(t, func(t *attempt) {
		if got := pushAndPoll(t, "4hello"); got != "4hello" {
			t.Errorf("poll %q, want %q", got, "4hello")
		}
	})
}

func TestEngineIO_Message_Polling_SendsAndReceivesAPayloadContainingSeveralPlainTextPackets(t *testing.T) {
	runCase(t, func(t *attempt) {
		const payload = "4test1\x1e4test2\x1e4test3"
		if got := pushAndPoll(t, payload); got != payload {
			t.Errorf("poll %q, want %q", got, payload)
		}
	})
}

func TestEngineIO_Message_Polling_SendsAndReceivesAPayloadContainingPlainTextAndBinaryPackets(t *testing.T) {
	runCase(t, func(t *attempt) {
		const payload = "4hello\x1ebAQIDBA=="
		if got := pushAndPoll(t, payload); got != payload {
			t.Errorf("poll %q, want %q", got, payload)
		}
	})
}

func TestEngineIO_Message_Polling_ClosesTheSessionUponInvalidPacketFormat(t *testing.T) {
	runCase(t, func(t *attempt) {
		a := newAgent(t)
		sid := a.openPolling()
		if res := a.post(sidQuery(sid), "abc"); res.status != 400 {
			t.Errorf("POST abc: status %d, want 400", res.status)
		}
		if res := a.get(sidQuery(sid)); res.status != 400 {
			t.Errorf("GET after: status %d, want 400", res.status)
		}
	})
}

// The suite sends the second GET 5 ms after the first; the Go test sends
// it once the first is pending in the server, which is what the 5 ms is
// for.
func TestEngineIO_Message_Polling_ClosesTheSessionUponDuplicatePollRequests(t *testing.T) {
	runCase(t, func(t *attempt) {
		a := newAgent(t)
		sid := a.openPolling()
		first := a.getAsync(sidQuery(sid))
		a.awaitPendingGet(sid, first)
		second := a.get(sidQuery(sid) + "&t=burst")
		res := <-first
		if res.status != 200 || res.body != "1" {
			t.Errorf("first GET: status %d %q, want 200 \"1\"", res.status, res.body)
		}
		if second.status != 400 && second.status != 500 {
			t.Errorf("second GET: status %d, want 400 (or 500)", second.status)
		}
		if res := a.get(sidQuery(sid)); res.status != 400 {
			t.Errorf("GET after: status %d, want 400", res.status)
		}
	})
}

func TestEngineIO_Message_WebSocket_SendsAndReceivesAPlainTextPacket(t *testing.T) {
	runCase(t, func(t *attempt) {
		a := newAgent(t)
		c := a.dial("?EIO=4&transport=websocket")
		c.readText() // handshake
		c.send(ws.Text, "4hello")
		if got := c.next(); got != "4hello" {
			t.Errorf("got %q, want 4hello", got)
		}
	})
}

func TestEngineIO_Message_WebSocket_SendsAndReceivesABinaryPacket(t *testing.T) {
	runCase(t, func(t *attempt) {
		a := newAgent(t)
		c := a.dial("?EIO=4&transport=websocket")
		c.readText() // handshake
		c.send(ws.Binary, "\x01\x02\x03\x04")
		typ, got := c.read()
		if typ != ws.Binary || got != "\x01\x02\x03\x04" {
			t.Errorf("got %v %q, want binary 01 02 03 04", typ, got)
		}
	})
}

func TestEngineIO_Message_WebSocket_ClosesTheSessionUponInvalidPacketFormat(t *testing.T) {
	runCase(t, func(t *attempt) {
		a := newAgent(t)
		c := a.dial("?EIO=4&transport=websocket")
		c.readText() // handshake
		c.send(ws.Text, "abc")
		c.awaitClose()
	})
}

func TestEngineIO_Heartbeat_Polling_SendsPingPongPackets(t *testing.T) {
	runCase(t, func(t *attempt) {
		a := newAgent(t)
		// Each ping comes pingInterval after the handshake or the pong
		// before it, and its pong is due pingTimeout after it at the
		// earliest: until then nothing the test does late can end the
		// session.
		t.premise(time.Now(), suitePingInterval+suitePingTimeout)
		sid := a.openPolling()
		for i := range 3 {
			res := a.get(sidQuery(sid))
			if res.status != 200 || res.body != "2" {
				t.Fatalf("round %d: GET %d %q, want 200 \"2\"", i, res.status, res.body)
			}
			sent := time.Now()
			if res := a.post(sidQuery(sid), "3"); res.status != 200 {
				t.Fatalf("round %d: POST 3: status %d, want 200", i, res.status)
			}
			t.premise(sent, suitePingInterval+suitePingTimeout)
		}
	})
}

func TestEngineIO_Heartbeat_Polling_ClosesTheSessionUponPingTimeout(t *testing.T) {
	runCase(t, func(t *attempt) {
		a := newAgent(t)
		// The agent's heartbeat counts from before it sent the handshake,
		// and a request checks the pong's deadline itself when the timer
		// is late: whatever the pace, this GET comes after the deadline.
		t.always()
		sid := a.openPolling()
		time.Sleep(suitePingInterval + suitePingTimeout)
		if res := a.get(sidQuery(sid)); res.status != 400 {
			t.Errorf("GET after the ping timeout: status %d %q, want 400", res.status, res.body)
		}
	})
}

func TestEngineIO_Heartbeat_WebSocket_SendsPingPongPackets(t *testing.T) {
	runCase(t, func(t *attempt) {
		a := newAgent(t)
		c := a.dial("?EIO=4&transport=websocket")
		c.readText() // handshake
		for i := range 3 {
			if got := c.readText(); got != "2" {
				t.Fatalf("round %d: got %q, want 2", i, got)
			}
			c.send(ws.Text, "3")
		}
	})
}

func TestEngineIO_Heartbeat_WebSocket_ClosesTheSessionUponPingTimeout(t *testing.T) {
	runCase(t, func(t *attempt) {
		a := newAgent(t)
		// The agent cannot close before its deadline, whatever the pace of
		// the test: any failure counts. start is before the dial, which is
		// before the agent's heartbeat starts.
		t.always()
		start := time.Now()
		c := a.dial("?EIO=4&transport=websocket")
		c.awaitClose()
		// The suite's mocha timeout for this case is 5 s; the agent closes
		// after pingInterval + pingTimeout.
		if d := time.Since(start); d < suitePingInterval+suitePingTimeout-50*time.Millisecond {
			t.Errorf("closed after %v, before pingInterval+pingTimeout", d)
		}
	})
}

// The suite sends the GET and the POST at once, expecting the GET to be
// pending when the close packet arrives; the Go test posts once the GET
// is pending in the server.
func TestEngineIO_Close_Polling_ForcefullyClosesTheSession(t *testing.T) {
	runCase(t, func(t *attempt) {
		a := newAgent(t)
		sid := a.openPolling()
		poll := a.getAsync(sidQuery(sid))
		a.awaitPendingGet(sid, poll)
		a.post(sidQuery(sid), "1")
		res := <-poll
		if res.status != 200 || res.body != "6" {
			t.Errorf("pending GET: %d %q, want 200 \"6\"", res.status, res.body)
		}
		if res := a.get(sidQuery(sid)); res.status != 400 {
			t.Errorf("GET after: status %d, want 400", res.status)
		}
	})
}

func TestEngineIO_Close_WebSocket_ForcefullyClosesTheSession(t *testing.T) {
	runCase(t, func(t *attempt) {
		a := newAgent(t)
		c := a.dial("?EIO=4&transport=websocket")
		c.readText() // handshake
		c.send(ws.Text, "1")
		c.awaitClose()
	})
}

func TestEngineIO_Upgrade_SuccessfullyUpgradesFromHTTPLongPollingToWebSocket(t *testing.T) {
	runCase(t, func(t *attempt) {
		a := newAgent(t)
		sid := a.openPolling()
		c := a.dial("?EIO=4&transport=websocket&sid=" + sid)
		c.send(ws.Text, "2probe")
		if got := c.next(); got != "3probe" {
			t.Fatalf("probe answer %q, want 3probe", got)
		}
		res := a.get(sidQuery(sid))
		if res.status != 200 || res.body != "6" {
			t.Fatalf("GET during the upgrade: %d %q, want 200 \"6\" (noop)", res.status, res.body)
		}
		c.send(ws.Text, "5")
		c.send(ws.Text, "4hello")
		if got := c.next(); got != "4hello" {
			t.Errorf("got %q, want 4hello", got)
		}
	})
}

// The suite sends "2probe" and "5", then at once a GET on another
// connection; the Go test first reads "3probe" and the echo of a message
// sent after "5" (which the server handles after "5"), so that the GET
// surely comes after the upgrade, then checks the same things.
func TestEngineIO_Upgrade_IgnoresHTTPRequestsWithSameSidAfterUpgrade(t *testing.T) {
	runCase(t, func(t *attempt) {
		a := newAgent(t)
		sid := a.openPolling()
		c := a.dial("?EIO=4&transport=websocket&sid=" + sid)
		c.send(ws.Text, "2probe")
		c.send(ws.Text, "5")
		c.send(ws.Text, "4before")
		if got := c.next(); got != "3probe" {
			t.Fatalf("probe answer %q, want 3probe", got)
		}
		if got := c.next(); got != "4before" {
			t.Fatalf("got %q, want 4before", got)
		}
		if res := a.get(sidQuery(sid)); res.status != 400 {
			t.Errorf("GET after the upgrade: status %d %q, want 400", res.status, res.body)
		}
		c.send(ws.Text, "4hello")
		if got := c.next(); got != "4hello" {
			t.Errorf("got %q, want 4hello", got)
		}
	})
}

func TestEngineIO_Upgrade_IgnoresWebSocketConnectionWithSameSidAfterUpgrade(t *testing.T) {
	runCase(t, func(t *attempt) {
		a := newAgent(t)
		sid := a.openPolling()
		c := a.dial("?EIO=4&transport=websocket&sid=" + sid)
		c.send(ws.Text, "2probe")
		c.send(ws.Text, "5")
		c2 := a.dial("?EIO=4&transport=websocket&sid=" + sid)
		c2.awaitClose()
		c.send(ws.Text, "4hello")
		got := c.next()
		if got == "3probe" {
			got = c.next()
		}
		if got != "4hello" {
			t.Errorf("got %q, want 4hello", got)
		}
	})
}
