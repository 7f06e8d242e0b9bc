package main

// The official Socket.IO protocol test suite (test-suite/test-suite.js of
// socketio/socket.io-protocol, the protocol 5 / EIO=4 version: 32 cases,
// 16 on the Engine.IO layer at /socket.io/ and 16 on Socket.IO itself),
// written as Go tests against the agent's handler, over raw HTTP and raw
// WebSocket as the suite does. Each test is named after its case
// ("describe" path and "it" title). The suite never answers the server's
// pings and relies on finishing within pingInterval+pingTimeout; these
// tests answer them (except where a ping is what is checked), so that a
// busy machine cannot fail them, and check every byte the suite checks.
// A run that a busy machine stretched past what the suite relies on is
// inconclusive and runs again (runCase, attempt_test.go).

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/client"
	"github.com/rfc6455/ws/socketio"
)

// sioAgent is the agent's handler under test, with a handle on the
// Socket.IO server.
type sioAgent struct {
	t     *attempt
	io    *socketio.Server
	url   string
	wsURL string
	hc    *http.Client
}

func newSIOAgent(t *attempt) *sioAgent { return newSIOAgentWith(t, socketIOOptions()) }

// newSIOAgentWith is newSIOAgent with other server options.
func newSIOAgentWith(t *attempt, opts *socketio.Options) *sioAgent {
	t.Helper()
	a := &sioAgent{t: t, io: newSocketIOWith(opts), hc: &http.Client{Timeout: 10 * time.Second}}
	a.url = t.serve(newEngineIO(), a.io)
	a.wsURL = "ws" + strings.TrimPrefix(a.url, "http")
	return a
}

func (a *sioAgent) do(method, query, body string) response {
	a.t.Helper()
	res, err := fetch(a.hc, method, a.url+"/socket.io/"+query, body)
	if err != nil {
		a.t.Fatal(err)
	}
	return res
}

// getAsync is agent.getAsync at /socket.io/.
func (a *sioAgent) getAsync(query string) <-chan response {
	ch := make(chan response, 1)
	go func() {
		res, err := fetch(a.hc, http.MethodGet, a.url+"/socket.io/"+query, "")
		if err != nil {
			res.body = err.Error()
		}
		ch <- res
	}()
	return ch
}

func (a *sioAgent) get(query string) response        { return a.do(http.MethodGet, query, "") }
func (a *sioAgent) post(query, body string) response { return a.do(http.MethodPost, query, body) }

// openPolling starts a polling session and returns its sid
// (initLongPollingSession).
func (a *sioAgent) openPolling() string {
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

// awaitPendingGet waits until a GET of session sid waits in the server;
// get is that GET's answer, which must not come first.
func (a *sioAgent) awaitPendingGet(sid string, get <-chan response) {
	a.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		select {
		case res := <-get:
			a.t.Fatalf("the GET was answered before it could be raced: %d %q", res.status, res.body)
		default:
		}
		if s := a.io.Engine().Socket(sid); s != nil && s.Writable() {
			return
		}
		if time.Now().After(deadline) {
			a.t.Fatalf("no GET of session %s is pending in the server", sid)
		}
		time.Sleep(time.Millisecond)
	}
}

func (a *sioAgent) dial(query string) *wsConn {
	a.t.Helper()
	a.t.sessionStarts()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := client.Dial(ctx, a.wsURL+"/socket.io/"+query, nil)
	if err != nil {
		a.t.Fatalf("dial %s: %v", query, err)
	}
	a.t.Cleanup(func() { c.CloseNow() })
	return &wsConn{a.t, c}
}

func (a *sioAgent) dialRefused(query string) {
	a.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, res, err := client.Dial(ctx, a.wsURL+"/socket.io/"+query, nil)
	if err == nil {
		c.CloseNow()
		a.t.Fatalf("dial %s: accepted, want a refusal", query)
	}
	if res == nil || res.StatusCode != 400 {
		a.t.Fatalf("dial %s: %v (response %v), want HTTP 400", query, err, res)
	}
}

// nextPacket returns the next message that is not a ping (answering pings),
// text or binary (waitForPackets).
func (w *wsConn) nextPacket() (ws.MessageType, string) {
	w.t.Helper()
	for {
		typ, msg := w.read()
		if typ == ws.Text && msg == "2" {
			w.send(ws.Text, "3")
			continue
		}
		return typ, msg
	}
}

// initSocketIOConnection opens a WebSocket session and connects to the
// main namespace, reading the CONNECT answer and the "auth" event.
func (a *sioAgent) initSocketIOConnection() *wsConn {
	a.t.Helper()
	c := a.dial("?EIO=4&transport=websocket")
	c.readText() // Engine.IO handshake
	c.send(ws.Text, "40")
	if got := c.next(); !strings.HasPrefix(got, "40{") {
		a.t.Fatalf("Socket.IO handshake %q", got)
	}
	if got := c.next(); got != `42["auth",{}]` {
		a.t.Fatalf("auth packet %q", got)
	}
	return c
}

// checkSIOHandshake checks a CONNECT answer: the prefix, then a JSON
// object with exactly the key "sid", a string.
func checkSIOHandshake(t *attempt, data, prefix string) {
	t.Helper()
	if !strings.HasPrefix(data, prefix) {
		t.Fatalf("handshake %q does not start with %q", data, prefix)
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(data[len(prefix):]), &v); err != nil {
		t.Fatalf("handshake %q: %v", data, err)
	}
	if _, ok := v["sid"].(string); !ok || len(v) != 1 {
		t.Fatalf("handshake %q: want exactly the key sid, a string", data)
	}
}

// Engine.IO protocol, at /socket.io/.

func TestSocketIOSuite_EngineIO_Handshake_Polling_SuccessfullyOpensASession(t *testing.T) {
	runCase(t, func(t *attempt) {
		a := newSIOAgent(t)
		res := a.get("?EIO=4&transport=polling")
		if res.status != 200 {
			t.Fatalf("status %d", res.status)
		}
		checkHandshake(t, res.body, []string{"websocket"})
	})
}

func TestSocketIOSuite_EngineIO_Handshake_Polling_FailsWithAnInvalidEIOQueryParameter(t *testing.T) {
	runCase(t, func(t *attempt) {
		a := newSIOAgent(t)
		for _, q := range []string{"?transport=polling", "?EIO=abc&transport=polling"} {
			if res := a.get(q); res.status != 400 {
				t.Errorf("GET %s: status %d, want 400", q, res.status)
			}
		}
	})
}

func TestSocketIOSuite_EngineIO_Handshake_Polling_FailsWithAnInvalidTransportQueryParameter(t *testing.T) {
	runCase(t, func(t *attempt) {
		a := newSIOAgent(t)
		for _, q := range []string{"?EIO=4", "?EIO=4&transport=abc"} {
			if res := a.get(q); res.status != 400 {
				t.Errorf("GET %s: status %d, want 400", q, res.status)
			}
		}
	})
}

func TestSocketIOSuite_EngineIO_Handshake_Polling_FailsWithAnInvalidRequestMethod(t *testing.T) {
	runCase(t, func(t *attempt) {
		a := newSIOAgent(t)
		for _, m := range []string{http.MethodPost, http.MethodPut} {
			if res := a.do(m, "?EIO=4&transport=polling", ""); res.status != 400 {
				t.Errorf("%s: status %d, want 400", m, res.status)
			}
		}
	})
}

func TestSocketIOSuite_EngineIO_Handshake_WebSocket_SuccessfullyOpensASession(t *testing.T) {
	runCase(t, func(t *attempt) {
		a := newSIOAgent(t)
		c := a.dial("?EIO=4&transport=websocket")
		checkHandshake(t, c.readText(), []string{})
		c.c.Close(ws.CloseNormal, "")
	})
}

func TestSocketIOSuite_EngineIO_Handshake_WebSocket_FailsWithAnInvalidEIOQueryParameter(t *testing.T) {
	runCase(t, func(t *attempt) {
		a := newSIOAgent(t)
		a.dialRefused("?transport=websocket")
		a.dialRefused("?EIO=abc&transport=websocket")
	})
}

func TestSocketIOSuite_EngineIO_Handshake_WebSocket_FailsWithAnInvalidTransportQueryParameter(t *testing.T) {
	runCase(t, func(t *attempt) {
		a := newSIOAgent(t)
		a.dialRefused("?EIO=4")
		a.dialRefused("?EIO=4&transport=abc")
	})
}

// slowConnectTimeout is the agent's configuration with a connect timeout
// far beyond the 3 heartbeats of the suite's heartbeat cases: they join no
// namespace, and the third ping comes at 900 ms plus two round trips,
// before the agent's 1000 ms connect timeout only on an idle machine (the
// suite relies on that; the Go tests should not).
func slowConnectTimeout() *socketio.Options {
	o := socketIOOptions()
	o.ConnectTimeout = time.Minute
	return o
}

func TestSocketIOSuite_EngineIO_Heartbeat_Polling_SendsPingPongPackets(t *testing.T) {
	runCase(t, func(t *attempt) {
		a := newSIOAgentWith(t, slowConnectTimeout())
		// As in TestEngineIO_Heartbeat_Polling_SendsPingPongPackets.
		t.premise(time.Now(), suitePingInterval+suitePingTimeout)
		sid := a.openPolling()
		for i := range 3 {
			res := a.get(sidQuery(sid))
			if res.status != 200 || res.body != "2" {
				t.Fatalf("poll %d: %d %q, want 200 \"2\"", i, res.status, res.body)
			}
			sent := time.Now()
			if res := a.post(sidQuery(sid), "3"); res.status != 200 {
				t.Fatalf("pong %d: status %d", i, res.status)
			}
			t.premise(sent, suitePingInterval+suitePingTimeout)
		}
	})
}

func TestSocketIOSuite_EngineIO_Heartbeat_Polling_ClosesTheSessionUponPingTimeout(t *testing.T) {
	runCase(t, func(t *attempt) {
		a := newSIOAgent(t)
		// As in TestEngineIO_Heartbeat_Polling_ClosesTheSessionUponPingTimeout.
		t.always()
		sid := a.openPolling()
		time.Sleep(suitePingInterval + suitePingTimeout)
		if res := a.get(sidQuery(sid)); res.status != 400 {
			t.Fatalf("poll after the ping timeout: %d %q, want 400", res.status, res.body)
		}
	})
}

func TestSocketIOSuite_EngineIO_Heartbeat_WebSocket_SendsPingPongPackets(t *testing.T) {
	runCase(t, func(t *attempt) {
		a := newSIOAgentWith(t, slowConnectTimeout())
		c := a.dial("?EIO=4&transport=websocket")
		c.readText() // handshake
		for i := range 3 {
			if got := c.readText(); got != "2" {
				t.Fatalf("message %d: %q, want the ping 2", i, got)
			}
			c.send(ws.Text, "3")
		}
		c.c.Close(ws.CloseNormal, "")
	})
}

func TestSocketIOSuite_EngineIO_Heartbeat_WebSocket_ClosesTheSessionUponPingTimeout(t *testing.T) {
	runCase(t, func(t *attempt) {
		a := newSIOAgent(t)
		c := a.dial("?EIO=4&transport=websocket")
		c.awaitClose()
	})
}

// The suite sends the GET and the POST at once, expecting the GET to be
// pending when the close packet arrives; the Go test posts once the GET
// is pending in the server.
func TestSocketIOSuite_EngineIO_Close_Polling_ForcefullyClosesTheSession(t *testing.T) {
	runCase(t, func(t *attempt) {
		a := newSIOAgent(t)
		sid := a.openPolling()
		poll := a.getAsync(sidQuery(sid))
		a.awaitPendingGet(sid, poll)
		a.post(sidQuery(sid), "1")
		if res := <-poll; res.status != 200 || res.body != "6" {
			t.Errorf("pending GET: %d %q, want 200 \"6\"", res.status, res.body)
		}
		if res := a.get(sidQuery(sid)); res.status != 400 {
			t.Errorf("GET after: status %d, want 400", res.status)
		}
	})
}

func TestSocketIOSuite_EngineIO_Close_WebSocket_ForcefullyClosesTheSession(t *testing.T) {
	runCase(t, func(t *attempt) {
		a := newSIOAgent(t)
		c := a.dial("?EIO=4&transport=websocket")
		c.readText() // handshake
		c.send(ws.Text, "1")
		c.awaitClose()
	})
}

func TestSocketIOSuite_EngineIO_Upgrade_SuccessfullyUpgradesFromHTTPLongPollingToWebSocket(t *testing.T) {
	runCase(t, func(t *attempt) {
		a := newSIOAgent(t)
		sid := a.openPolling()
		c := a.dial("?EIO=4&transport=websocket&sid=" + sid)
		c.send(ws.Text, "2probe")
		if got := c.next(); got != "3probe" {
			t.Fatalf("probe answer %q, want 3probe", got)
		}
		c.send(ws.Text, "5")
		// The session goes on over the WebSocket: a CONNECT is answered on it.
		c.send(ws.Text, "40")
		checkSIOHandshake(t, c.next(), "40")
	})
}

// The suite sends "2probe" and "5", then at once a GET; the Go test first
// reads "3probe" and the answer to a CONNECT sent after "5" (which the
// server handles after "5"), so that the GET surely comes after the
// upgrade.
func TestSocketIOSuite_EngineIO_Upgrade_IgnoresHTTPRequestsWithSameSidAfterUpgrade(t *testing.T) {
	runCase(t, func(t *attempt) {
		a := newSIOAgent(t)
		sid := a.openPolling()
		c := a.dial("?EIO=4&transport=websocket&sid=" + sid)
		c.send(ws.Text, "2probe")
		c.send(ws.Text, "5")
		c.send(ws.Text, "40")
		if got := c.next(); got != "3probe" {
			t.Fatalf("probe answer %q, want 3probe", got)
		}
		checkSIOHandshake(t, c.next(), "40")
		if res := a.get(sidQuery(sid)); res.status != 400 {
			t.Errorf("GET after the upgrade: status %d %q, want 400", res.status, res.body)
		}
	})
}

func TestSocketIOSuite_EngineIO_Upgrade_IgnoresWebSocketConnectionWithSameSidAfterUpgrade(t *testing.T) {
	runCase(t, func(t *attempt) {
		a := newSIOAgent(t)
		sid := a.openPolling()
		c := a.dial("?EIO=4&transport=websocket&sid=" + sid)
		c.send(ws.Text, "2probe")
		c.send(ws.Text, "5")
		c2 := a.dial("?EIO=4&transport=websocket&sid=" + sid)
		c2.awaitClose()
	})
}

// Socket.IO protocol.

func TestSocketIOSuite_SocketIO_Connect_AllowsConnectionToTheMainNamespace(t *testing.T) {
	runCase(t, func(t *attempt) {
		a := newSIOAgent(t)
		c := a.dial("?EIO=4&transport=websocket")
		c.readText() // Engine.IO handshake
		c.send(ws.Text, "40")
		checkSIOHandshake(t, c.next(), "40")
		if got := c.next(); got != `42["auth",{}]` {
			t.Fatalf("auth packet %q", got)
		}
	})
}

func TestSocketIOSuite_SocketIO_Connect_AllowsConnectionToTheMainNamespaceWithAPayload(t *testing.T) {
	runCase(t, func(t *attempt) {
		a := newSIOAgent(t)
		c := a.dial("?EIO=4&transport=websocket")
		c.readText()
		c.send(ws.Text, `40{"token":"123"}`)
		checkSIOHandshake(t, c.next(), "40")
		if got := c.next(); got != `42["auth",{"token":"123"}]` {
			t.Fatalf("auth packet %q", got)
		}
	})
}

func TestSocketIOSuite_SocketIO_Connect_AllowsConnectionToACustomNamespace(t *testing.T) {
	runCase(t, func(t *attempt) {
		a := newSIOAgent(t)
		c := a.dial("?EIO=4&transport=websocket")
		c.readText()
		c.send(ws.Text, "40/custom,")
		checkSIOHandshake(t, c.next(), "40/custom,")
		if got := c.next(); got != `42/custom,["auth",{}]` {
			t.Fatalf("auth packet %q", got)
		}
	})
}

func TestSocketIOSuite_SocketIO_Connect_AllowsConnectionToACustomNamespaceWithAPayload(t *testing.T) {
	runCase(t, func(t *attempt) {
		a := newSIOAgent(t)
		c := a.dial("?EIO=4&transport=websocket")
		c.readText()
		c.send(ws.Text, `40/custom,{"token":"abc"}`)
		checkSIOHandshake(t, c.next(), "40/custom,")
		if got := c.next(); got != `42/custom,["auth",{"token":"abc"}]` {
			t.Fatalf("auth packet %q", got)
		}
	})
}

func TestSocketIOSuite_SocketIO_Connect_DisallowsConnectionToAnUnknownNamespace(t *testing.T) {
	runCase(t, func(t *attempt) {
		a := newSIOAgent(t)
		c := a.dial("?EIO=4&transport=websocket")
		c.readText()
		c.send(ws.Text, "40/random")
		if got := c.next(); got != `44/random,{"message":"Invalid namespace"}` {
			t.Fatalf("answer %q", got)
		}
	})
}

func TestSocketIOSuite_SocketIO_Connect_DisallowsConnectionWithAnInvalidHandshake(t *testing.T) {
	runCase(t, func(t *attempt) {
		a := newSIOAgent(t)
		c := a.dial("?EIO=4&transport=websocket")
		c.readText()
		c.send(ws.Text, "4abc")
		c.awaitClose()
	})
}

// The suite waits for the close without answering pings, so the ping
// timeout could close it as well; the Go test answers them, so that only
// the connect timeout (1000 ms) can.
func TestSocketIOSuite_SocketIO_Connect_ClosesTheConnectionIfNoHandshakeIsReceived(t *testing.T) {
	runCase(t, func(t *attempt) {
		a := newSIOAgent(t)
		// start is before the dial, which is before the connect timeout
		// starts.
		start := time.Now()
		c := a.dial("?EIO=4&transport=websocket")
		c.readText()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for {
			typ, msg, err := c.c.ReadMessage(ctx, nil)
			if err != nil {
				if ctx.Err() != nil {
					t.Fatal("not closed")
				}
				break
			}
			if typ == ws.Text && string(msg) == "2" {
				c.send(ws.Text, "3")
			}
		}
		if d := time.Since(start); d < 900*time.Millisecond {
			t.Fatalf("closed after %v, before the connect timeout", d)
		}
	})
}

func TestSocketIOSuite_SocketIO_Disconnect_DisconnectsFromTheMainNamespace(t *testing.T) {
	runCase(t, func(t *attempt) {
		a := newSIOAgent(t)
		c := a.initSocketIOConnection()
		c.send(ws.Text, "41")
		// The connection stays open: the next message is a ping.
		if got := c.readText(); got != "2" {
			t.Fatalf("after leaving the main namespace: %q, want the ping 2", got)
		}
	})
}

func TestSocketIOSuite_SocketIO_Disconnect_ConnectsThenDisconnectsFromACustomNamespace(t *testing.T) {
	runCase(t, func(t *attempt) {
		a := newSIOAgent(t)
		c := a.initSocketIOConnection()
		if got := c.readText(); got != "2" { // ping
			t.Fatalf("got %q, want the ping 2", got)
		}
		c.send(ws.Text, "3")
		c.send(ws.Text, "40/custom")
		checkSIOHandshake(t, c.next(), "40/custom,")
		if got := c.next(); got != `42/custom,["auth",{}]` {
			t.Fatalf("auth packet %q", got)
		}
		c.send(ws.Text, "41/custom")
		c.send(ws.Text, `42["message","message to main namespace"]`)
		if got := c.next(); got != `42["message-back","message to main namespace"]` {
			t.Fatalf("got %q", got)
		}
	})
}

func TestSocketIOSuite_SocketIO_Message_SendsAPlainTextPacket(t *testing.T) {
	runCase(t, func(t *attempt) {
		a := newSIOAgent(t)
		c := a.initSocketIOConnection()
		c.send(ws.Text, `42["message",1,"2",{"3":[true]}]`)
		if got := c.next(); got != `42["message-back",1,"2",{"3":[true]}]` {
			t.Fatalf("got %q", got)
		}
	})
}

// expectPackets reads n packets and compares them with want (text as is,
// binary as its bytes).
func expectPackets(t *attempt, c *wsConn, want ...string) {
	t.Helper()
	for i, w := range want {
		typ, got := c.nextPacket()
		wantType := ws.Text
		if i > 0 {
			wantType = ws.Binary
		}
		if typ != wantType || got != w {
			t.Fatalf("packet %d: %v %q, want %v %q", i, typ, got, wantType, w)
		}
	}
}

func TestSocketIOSuite_SocketIO_Message_SendsAPacketWithBinaryAttachments(t *testing.T) {
	runCase(t, func(t *attempt) {
		a := newSIOAgent(t)
		c := a.initSocketIOConnection()
		c.send(ws.Text, `452-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)
		c.send(ws.Binary, "\x01\x02\x03")
		c.send(ws.Binary, "\x04\x05\x06")
		expectPackets(t, c, `452-["message-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`, "\x01\x02\x03", "\x04\x05\x06")
	})
}

func TestSocketIOSuite_SocketIO_Message_SendsAPlainTextPacketWithAnAck(t *testing.T) {
	runCase(t, func(t *attempt) {
		a := newSIOAgent(t)
		c := a.initSocketIOConnection()
		c.send(ws.Text, `42456["message-with-ack",1,"2",{"3":[false]}]`)
		if got := c.next(); got != `43456[1,"2",{"3":[false]}]` {
			t.Fatalf("got %q", got)
		}
	})
}

func TestSocketIOSuite_SocketIO_Message_SendsAPacketWithBinaryAttachmentsAndAnAck(t *testing.T) {
	runCase(t, func(t *attempt) {
		a := newSIOAgent(t)
		c := a.initSocketIOConnection()
		c.send(ws.Text, `452-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)
		c.send(ws.Binary, "\x01\x02\x03")
		c.send(ws.Binary, "\x04\x05\x06")
		expectPackets(t, c, `462-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`, "\x01\x02\x03", "\x04\x05\x06")
	})
}

func TestSocketIOSuite_SocketIO_Message_ClosesTheConnectionUponInvalidFormatUnknownPacketType(t *testing.T) {
	runCase(t, func(t *attempt) {
		a := newSIOAgent(t)
		c := a.initSocketIOConnection()
		c.send(ws.Text, "4abc")
		c.awaitClose()
	})
}

func TestSocketIOSuite_SocketIO_Message_ClosesTheConnectionUponInvalidFormatInvalidPayloadFormat(t *testing.T) {
	runCase(t, func(t *attempt) {
		a := newSIOAgent(t)
		c := a.initSocketIOConnection()
		c.send(ws.Text, "42{}")
		c.awaitClose()
	})
}

func TestSocketIOSuite_SocketIO_Message_ClosesTheConnectionUponInvalidFormatInvalidAckId(t *testing.T) {
	runCase(t, func(t *attempt) {
		a := newSIOAgent(t)
		c := a.initSocketIOConnection()
		c.send(ws.Text, `42abc["message-with-ack",1,"2",{"3":[false]}]`)
		c.awaitClose()
	})
}

// Beyond the suite: the same over long-polling, where a malformed packet
// closes the session so that the next request is refused.

func TestSocketIOPolling_ConnectEventAckAndMalformedPacket(t *testing.T) {
	runCase(t, func(t *attempt) {
		a := newSIOAgent(t)
		sid := a.openPolling()
		q := sidQuery(sid)
		if res := a.post(q, `40{"token":"t"}`); res.status != 200 || res.body != "ok" {
			t.Fatalf("POST CONNECT: %d %q", res.status, res.body)
		}
		// The CONNECT answer and the auth event, in one payload or two.
		var got []string
		for len(got) < 2 {
			res := a.get(q)
			if res.status != 200 {
				t.Fatalf("GET: %d %q", res.status, res.body)
			}
			for _, p := range strings.Split(res.body, "\x1e") {
				if p != "2" {
					got = append(got, p)
				} else {
					a.post(q, "3")
				}
			}
		}
		checkSIOHandshake(t, got[0], "40")
		if got[1] != `42["auth",{"token":"t"}]` {
			t.Fatalf("auth packet %q", got[1])
		}
		a.post(q, `42["message",{"a":1}]`+"\x1e"+`4212["message-with-ack","x"]`)
		got = got[:0]
		for len(got) < 2 {
			res := a.get(q)
			for _, p := range strings.Split(res.body, "\x1e") {
				if p != "2" {
					got = append(got, p)
				} else {
					a.post(q, "3")
				}
			}
		}
		if !slices.Equal(got, []string{`42["message-back",{"a":1}]`, `4312["x"]`}) {
			t.Fatalf("answers %q", got)
		}
		a.post(q, "42{}")
		// The session closes: at most a close packet, then 400.
		for range 3 {
			res := a.get(q)
			if res.status == 400 {
				if !strings.Contains(res.body, "Session ID unknown") {
					t.Fatalf("400 body %q", res.body)
				}
				return
			}
		}
		t.Fatal("the session is still open after a malformed packet")
	})
}
