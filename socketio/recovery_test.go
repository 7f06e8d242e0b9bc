package socketio_test

import (
	"encoding/json"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rfc6455/ws/engineio"
	"github.com/rfc6455/ws/socketio"
)

// connectRecover joins "/" with auth and returns the CONNECT answer's sid
// and pid.
func (r *raw) connectRecover(auth string) (sid, pid string) {
	r.t.Helper()
	r.send("40" + auth)
	answer := r.next()
	var v struct{ Sid, Pid string }
	if !strings.HasPrefix(answer, "40{") || json.Unmarshal([]byte(answer[2:]), &v) != nil || v.Sid == "" || v.Pid == "" {
		r.t.Fatalf("CONNECT answer %q, want sid and pid", answer)
	}
	return v.Sid, v.Pid
}

// event splits an EVENT packet of the main namespace into its JSON array.
func event(t *testing.T, packet string) []json.RawMessage {
	t.Helper()
	if !strings.HasPrefix(packet, "42[") {
		t.Fatalf("not an event: %q", packet)
	}
	var a []json.RawMessage
	if err := json.Unmarshal([]byte(packet[2:]), &a); err != nil {
		t.Fatalf("%q: %v", packet, err)
	}
	return a
}

func TestConnectionStateRecovery(t *testing.T) { eachDriver(t, testConnectionStateRecovery) }

func testConnectionStateRecovery(t *testing.T) {
	noLeaks(t)
	e := newEnv(t, &socketio.Options{Recovery: &socketio.Recovery{MaxDisconnectionDuration: time.Minute}})
	sockets := make(chan *socketio.Socket, 4)
	e.io.OnConnection(func(s *socketio.Socket) {
		if !s.Recovered() {
			s.Join("news")
			s.SetData("first connection")
		}
		sockets <- s
	})
	r := e.dial()
	sid, pid := r.connectRecover("")
	s := <-sockets

	// Broadcasts carry their offset last.
	e.io.To("news").Emit("news", 0)
	a := event(t, r.next())
	if len(a) != 3 || string(a[1]) != "0" {
		t.Fatalf("event %s", a)
	}
	var offset string
	json.Unmarshal(a[2], &offset)
	// So does an emit to the socket.
	s.Emit("direct", "x")
	if a := event(t, r.next()); len(a) != 3 || string(a[1]) != `"x"` {
		t.Fatalf("event %s", a)
	} else {
		json.Unmarshal(a[2], &offset)
	}

	// Cut off, the client misses broadcasts.
	r.c.CloseNow()
	waitFor(t, "the socket to go", func() bool { return e.io.Of("/").Len() == 0 })
	for i := 1; i <= 3; i++ {
		e.io.To("news").Emit("news", i)
	}
	e.io.To("elsewhere").Emit("news", 99)
	e.io.Except("news").Emit("news", 98)
	e.io.Volatile().Emit("news", 97) // volatile: not kept
	e.io.Emit("news", 4)

	// It comes back with its pid and last offset: same id, rooms, data,
	// and the broadcasts its rooms got, in order.
	r2 := e.dial()
	auth, _ := json.Marshal(map[string]string{"pid": pid, "offset": offset})
	sid2, pid2 := r2.connectRecover(string(auth))
	if sid2 != sid || pid2 != pid {
		t.Fatalf("recovered as %s/%s, want %s/%s", sid2, pid2, sid, pid)
	}
	for _, want := range []string{"1", "2", "3", "4"} {
		if a := event(t, r2.next()); string(a[1]) != want {
			t.Fatalf("missed broadcast %s, want %s", a[1], want)
		}
	}
	s2 := <-sockets
	if !s2.Recovered() || s2.ID() != sid || s2.Data() != "first connection" || !slices.Contains(s2.Rooms(), "news") {
		t.Fatalf("recovered socket: %v %s %v %v", s2.Recovered(), s2.ID(), s2.Data(), s2.Rooms())
	}
	// Live broadcasts follow.
	e.io.To("news").Emit("news", 5)
	if a := event(t, r2.next()); string(a[1]) != "5" {
		t.Fatalf("live broadcast %s", a[1])
	}

	// A session is recovered once; an unknown pid or offset gets a new
	// socket.
	r3 := e.dial()
	sid3, _ := r3.connectRecover(string(auth))
	if sid3 == sid {
		t.Fatal("a session was recovered twice")
	}
	if s3 := <-sockets; s3.Recovered() {
		t.Fatal("Recovered() on a new socket")
	}
	r4 := e.dial()
	if sid4, _ := r4.connectRecover(`{"pid":"nope","offset":"nope"}`); sid4 == sid {
		t.Fatal("recovered with an unknown pid")
	}
	<-sockets

	// A client that leaves on purpose is not kept.
	r2.send("41")
	waitFor(t, "the socket to leave", func() bool { return e.io.Of("/").Socket(sid) == nil })
	r5 := e.dial()
	if sid5, _ := r5.connectRecover(string(auth)); sid5 == sid {
		t.Fatal("recovered after a client namespace disconnect")
	}
	<-sockets
}

func TestRecoveryRetainsBoundedPackets(t *testing.T) {
	eachDriver(t, testRecoveryRetainsBoundedPackets)
}

func testRecoveryRetainsBoundedPackets(t *testing.T) {
	noLeaks(t)
	e := newEnv(t, &socketio.Options{Recovery: &socketio.Recovery{MaxRetainedPackets: 2}})
	e.io.OnConnection(func(s *socketio.Socket) { s.Join("r") })
	r := e.dial()
	_, pid := r.connectRecover("")
	e.io.Emit("n", 0)
	a := event(t, r.next())
	var offset string
	json.Unmarshal(a[2], &offset)
	r.c.CloseNow()
	waitFor(t, "the socket to go", func() bool { return e.io.Of("/").Len() == 0 })
	for i := 1; i <= 3; i++ { // the offset falls out of the two kept
		e.io.Emit("n", i)
	}
	r2 := e.dial()
	auth, _ := json.Marshal(map[string]string{"pid": pid, "offset": offset})
	r2.connectRecover(string(auth))
	// Not recovered: nothing replayed; the next event is a live one.
	e.io.Emit("n", 9)
	if a := event(t, r2.next()); string(a[1]) != "9" {
		t.Fatalf("got %s, want the live 9", a[1])
	}
}

// poller is a long-polling client.
type poller struct {
	e   *env
	sid string
}

func (e *env) poll() *poller {
	e.t.Helper()
	res, err := e.hc.Get(e.url + "/socket.io/?EIO=4&transport=polling")
	if err != nil {
		e.t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var v struct{ Sid string }
	if len(b) == 0 || json.Unmarshal(b[1:], &v) != nil {
		e.t.Fatalf("handshake %q", b)
	}
	return &poller{e, v.Sid}
}

func (p *poller) post(body string) {
	p.e.t.Helper()
	res, err := p.e.hc.Post(p.e.url+"/socket.io/?EIO=4&transport=polling&sid="+p.sid, "text/plain", strings.NewReader(body))
	if err != nil {
		p.e.t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != 200 {
		p.e.t.Fatalf("POST %q: %d", body, res.StatusCode)
	}
}

// get polls once and returns the packets, answering pings.
func (p *poller) get() (int, []string) {
	p.e.t.Helper()
	res, err := p.e.hc.Get(p.e.url + "/socket.io/?EIO=4&transport=polling&sid=" + p.sid)
	if err != nil {
		p.e.t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 {
		return res.StatusCode, nil
	}
	var out []string
	for _, pk := range strings.Split(string(b), "\x1e") {
		if pk == "2" {
			p.post("3")
			continue
		}
		out = append(out, pk)
	}
	return 200, out
}

// next polls until n packets have come.
func (p *poller) next(n int) []string {
	p.e.t.Helper()
	var out []string
	for len(out) < n {
		status, got := p.get()
		if status != 200 {
			p.e.t.Fatalf("poll: %d", status)
		}
		out = append(out, got...)
	}
	return out
}

func TestVolatileOverPolling(t *testing.T) { eachDriver(t, testVolatileOverPolling) }

func testVolatileOverPolling(t *testing.T) {
	noLeaks(t)
	e := newEnv(t, nil)
	p := e.poll()
	p.post("40")
	if got := p.next(1); !strings.HasPrefix(got[0], "40{") {
		t.Fatalf("got %q", got)
	}
	// No GET waiting: a volatile event is dropped, a normal one kept.
	e.io.Volatile().Emit("v", 1)
	e.io.Emit("n", 2)
	if got := p.next(1); !slices.Equal(got, []string{`42["n",2]`}) {
		t.Fatalf("got %q", got)
	}
	// A GET waiting: the volatile event goes out.
	done := make(chan []string, 1)
	go func() { done <- p.next(1) }()
	waitFor(t, "a GET to wait", func() bool { s := e.io.Engine().Socket(p.sid); return s != nil && s.Writable() })
	e.io.Volatile().Emit("v", 3)
	if got := <-done; !slices.Equal(got, []string{`42["v",3]`}) {
		t.Fatalf("got %q", got)
	}
}

func TestSlowClientIsClosedOrDropped(t *testing.T) { eachDriver(t, testSlowClientIsClosedOrDropped) }

func testSlowClientIsClosedOrDropped(t *testing.T) {
	noLeaks(t)
	for _, drop := range []bool{false, true} {
		e := newEnv(t, &socketio.Options{DropSlow: drop, EngineIO: engineio.Options{MaxBufferedAmount: 1000}})
		p := e.poll()
		p.post("40")
		p.next(1)
		// The client polls no more: its buffer fills up.
		big := strings.Repeat("x", 400)
		for range 5 {
			e.io.Emit("big", big)
		}
		st := e.io.Hub().Stats()
		switch {
		case drop && (st.Dropped == 0 || st.SlowClosed != 0):
			t.Fatalf("DropSlow: stats %+v", st)
		case !drop && st.SlowClosed != 1:
			t.Fatalf("close: stats %+v", st)
		}
		status, got := p.get()
		if drop {
			if status != 200 || len(got) == 0 || len(got) >= 5 {
				t.Fatalf("DropSlow: %d %d packets", status, len(got))
			}
		} else if status == 200 && !(len(got) > 0 && got[len(got)-1] == "1") {
			t.Fatalf("closed slow client: %d %q", status, got)
		}
	}
}

func TestPollingAndWebSocketShareBroadcasts(t *testing.T) {
	eachDriver(t, testPollingAndWebSocketShareBroadcasts)
}

func testPollingAndWebSocketShareBroadcasts(t *testing.T) {
	noLeaks(t)
	e := newEnv(t, nil)
	p := e.poll()
	p.post(`40{"via":"polling"}`)
	p.next(1)
	r := e.dial()
	r.connect("/", "")
	waitFor(t, "both sockets", func() bool { return e.io.Of("/").Len() == 2 })
	payload := []byte{0, 1, 2, 255}
	if err := e.io.Emit("bin", payload, "text"); err != nil {
		t.Fatal(err)
	}
	r.expect(`451-["bin",{"_placeholder":true,"num":0},"text"]`)
	r.expectBinary(string(payload))
	if got := p.next(2); !slices.Equal(got, []string{`451-["bin",{"_placeholder":true,"num":0},"text"]`, "bAAEC/w=="}) {
		t.Fatalf("polling got %q", got)
	}
}
