package socketio_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/socketio"
)

type chatMessage struct {
	Room string `json:"room"`
	Text string `json:"text"`
}

func TestTypedHandlerDecodesAndReportsMismatches(t *testing.T) {
	eachDriver(t, testTypedHandlerDecodesAndReportsMismatches)
}

func testTypedHandlerDecodesAndReportsMismatches(t *testing.T) {
	noLeaks(t)
	e := newEnv(t, nil)
	got := make(chan chatMessage, 1)
	socketio.On(e.io, "say", func(ctx context.Context, s *socketio.Socket, m chatMessage) error {
		got <- m
		return nil
	})
	socketio.OnAck(e.io, "sum", func(ctx context.Context, s *socketio.Socket, xs []int) (int, error) {
		n := 0
		for _, x := range xs {
			n += x
		}
		return n, nil
	})
	socketio.On(e.io, "ping", func(ctx context.Context, s *socketio.Socket, _ struct{}) error {
		return s.Emit("pong")
	})
	socketio.OnAck(e.io, "opt", func(ctx context.Context, s *socketio.Socket, p *chatMessage) (bool, error) {
		return p == nil, nil
	})
	r := e.dial()
	r.connect("/", "")

	r.send(`42["say",{"room":"a","text":"hi"}]`)
	if m := <-got; m != (chatMessage{"a", "hi"}) {
		t.Fatalf("decoded %+v", m)
	}
	// A successful handler without a result acknowledges with nothing.
	r.send(`421["say",{"room":"a","text":"hi"}]`)
	<-got
	r.expect(`431[]`)
	r.send(`422["sum",[1,2,3]]`)
	r.expect(`432[6]`)
	r.send(`42["ping"]`)
	r.expect(`42["pong"]`)
	r.send(`423["opt"]`)
	r.expect(`433[true]`)

	// A mismatch: with an ack, the ack carries the error; without one, an
	// "error" event names the event.
	r.send(`424["sum","not a list"]`)
	r.expect(`434[{"error":{"code":"invalid_payload","message":"argument 1: cannot use a JSON string as []int"}}]`)
	r.send(`42["say",{"room":5}]`)
	r.expect(`42["error",{"code":"invalid_payload","message":"argument 1: field \"room\": cannot use a JSON number as string","event":"say"}]`)
	r.send(`425["sum"]`)
	r.expect(`435[{"error":{"code":"invalid_payload","message":"expected an argument ([]int)"}}]`)
	select {
	case m := <-got:
		t.Fatalf("handler called with %+v after a mismatch", m)
	default:
	}
}

func TestHandlerErrorsAndPanics(t *testing.T) { eachDriver(t, testHandlerErrorsAndPanics) }

func testHandlerErrorsAndPanics(t *testing.T) {
	noLeaks(t)
	e := newEnv(t, &socketio.Options{ErrorEvent: "oops"})
	socketio.OnAck(e.io, "fail", func(ctx context.Context, s *socketio.Socket, kind string) (string, error) {
		switch kind {
		case "public":
			return "", &socketio.Error{Code: "not_found", Message: "no such room"}
		case "private":
			return "", errors.New("database password is hunter2")
		case "panic":
			panic("boom")
		}
		return "fine", nil
	})
	r := e.dial()
	r.connect("/", "")
	r.send(`421["fail","public"]`)
	r.expect(`431[{"error":{"code":"not_found","message":"no such room"}}]`)
	r.send(`422["fail","private"]`)
	r.expect(`432[{"error":{"code":"internal","message":"internal error"}}]`)
	r.send(`423["fail","panic"]`)
	r.expect(`433[{"error":{"code":"internal","message":"internal error"}}]`)
	r.send(`42["fail","public"]`)
	r.expect(`42["oops",{"code":"not_found","message":"no such room","event":"fail"}]`)
	// The socket goes on after a panic.
	r.send(`424["fail","ok"]`)
	r.expect(`434["fine"]`)
}

func TestAcksBothWays(t *testing.T) { eachDriver(t, testAcksBothWays) }

func testAcksBothWays(t *testing.T) {
	noLeaks(t)
	e := newEnv(t, nil)
	sockets := make(chan *socketio.Socket, 1)
	e.io.OnConnection(func(s *socketio.Socket) { sockets <- s })
	r := e.dial()
	r.connect("/", "")
	s := <-sockets

	// Server → client, answered.
	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	go func() {
		n, err := socketio.Reply[int](s.EmitWithAck(context.Background(), "question", "how many?"))
		done <- result{n, err}
	}()
	r.expect(`420["question","how many?"]`)
	r.send(`430[42]`)
	if res := <-done; res.err != nil || res.n != 42 {
		t.Fatalf("answer %+v", res)
	}

	// Unanswered: ctx's deadline.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	_, err := s.EmitWithAck(ctx, "question", "again?")
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("unanswered: %v", err)
	}
	r.expect(`421["question","again?"]`)
	r.send(`431[1]`) // too late: ignored

	// A handler may wait for the same client's ack: events are read on.
	socketio.OnAck(e.io, "relay", func(ctx context.Context, s *socketio.Socket, q string) (string, error) {
		return socketio.Reply[string](s.EmitWithAck(ctx, "confirm", q))
	})
	r.send(`427["relay","sure?"]`)
	r.expect(`422["confirm","sure?"]`)
	r.send(`432["yes"]`)
	r.expect(`437["yes"]`)

	// The socket disconnects while waiting.
	go func() {
		_, err := s.EmitWithAck(context.Background(), "question", "still there?")
		done <- result{0, err}
	}()
	r.expect(`423["question","still there?"]`)
	r.send("41")
	if res := <-done; !errors.Is(res.err, socketio.ErrDisconnected) {
		t.Fatalf("after disconnect: %v", res.err)
	}
}

func TestBinaryBothWays(t *testing.T) { eachDriver(t, testBinaryBothWays) }

func testBinaryBothWays(t *testing.T) {
	noLeaks(t)
	e := newEnv(t, nil)
	type file struct {
		Name string            `json:"name"`
		Data socketio.Binary   `json:"data"`
		More []socketio.Binary `json:"more"`
	}
	socketio.OnAck(e.io, "upload", func(ctx context.Context, s *socketio.Socket, f file) (file, error) {
		f.Name = strings.ToUpper(f.Name)
		return f, nil
	})
	socketio.On(e.io, "raw", func(ctx context.Context, s *socketio.Socket, b []byte) error {
		return s.Emit("raw-back", b, "tail", []byte{9})
	})
	r := e.dial()
	r.connect("/", "")
	r.send(`451-1["upload",{"name":"a.bin","data":{"_placeholder":true,"num":0},"more":[]}]`)
	r.sendBinary([]byte{1, 2, 3})
	r.expect(`461-1[{"name":"A.BIN","data":{"_placeholder":true,"num":0},"more":[]}]`)
	r.expectBinary("\x01\x02\x03")
	r.send(`452-["raw",{"_placeholder":true,"num":1},{"_placeholder":true,"num":0}]`)
	r.sendBinary([]byte("zero"))
	r.sendBinary([]byte("one"))
	r.expect(`452-["raw-back",{"_placeholder":true,"num":0},"tail",{"_placeholder":true,"num":1}]`)
	r.expectBinary("one")
	r.expectBinary("\x09")
}

func TestRoomsAndBroadcasts(t *testing.T) { eachDriver(t, testRoomsAndBroadcasts) }

func testRoomsAndBroadcasts(t *testing.T) {
	noLeaks(t)
	e := newEnv(t, nil)
	socketio.On(e.io, "join", func(ctx context.Context, s *socketio.Socket, room string) error {
		s.Join(room)
		return nil
	})
	socketio.On(e.io, "leave", func(ctx context.Context, s *socketio.Socket, room string) error {
		s.Leave(room)
		return nil
	})
	socketio.On(e.io, "to-others", func(ctx context.Context, s *socketio.Socket, text string) error {
		return s.Broadcast().Emit("msg", text)
	})
	socketio.On(e.io, "to-room", func(ctx context.Context, s *socketio.Socket, m chatMessage) error {
		return s.To(m.Room).Emit("msg", m.Text)
	})
	var clients []*raw
	ids := map[*raw]string{}
	for range 4 {
		r := e.dial()
		ids[r] = r.connect("/", "")
		clients = append(clients, r)
	}
	a, b, c, d := clients[0], clients[1], clients[2], clients[3]
	for _, x := range []struct {
		r    *raw
		room string
	}{{a, "red"}, {b, "red"}, {b, "blue"}, {c, "blue"}, {d, "muted"}, {c, "muted"}} {
		x.r.send(`421["join","` + x.room + `"]`)
		x.r.expect(`431[]`)
	}
	sa := e.socketOf(e.io.Of("/"), ids[a])
	if rooms := sa.Rooms(); !slices.Equal(rooms, []string{ids[a], "red"}) {
		t.Fatalf("rooms %q", rooms)
	}

	// expectOnly checks that exactly the clients listed get text next: a
	// fence broadcast to all after it shows the others got nothing before.
	fence := 0
	expectOnly := func(text string, want ...*raw) {
		t.Helper()
		fence++
		f := fmt.Sprintf("fence%d", fence)
		if err := e.io.Emit("msg", f); err != nil {
			t.Fatal(err)
		}
		for _, r := range clients {
			if slices.Contains(want, r) {
				r.expect(`42["msg","` + text + `"]`)
			}
			r.expect(`42["msg","` + f + `"]`)
		}
	}
	e.io.To("red").Emit("msg", "1")
	expectOnly("1", a, b)
	e.io.To("red", "blue").Emit("msg", "2") // b once
	expectOnly("2", a, b, c)
	e.io.To("red").To("blue").Except("muted").Emit("msg", "3")
	expectOnly("3", a, b)
	e.io.Except("muted").Emit("msg", "4")
	expectOnly("4", a, b)
	e.io.To(ids[d]).Emit("msg", "5") // a socket's own room
	expectOnly("5", d)
	e.io.Of("/").Except(ids[a], "blue").Emit("msg", "6")
	expectOnly("6", d)
	// Events from a client: their acks tell their broadcasts are out.
	b.send(`421["to-others","7"]`)
	b.expect(`431[]`)
	expectOnly("7", a, c, d)
	a.send(`421["to-room",{"room":"red","text":"8"}]`) // not to a itself
	a.expect(`431[]`)
	expectOnly("8", b)
	b.send(`421["leave","red"]`)
	b.expect(`431[]`)
	e.io.To("red").Emit("msg", "9")
	expectOnly("9", a)

	// Operators are values: a chain can be kept and reused.
	red := e.io.To("red")
	red.Except("blue").Emit("msg", "10")
	expectOnly("10", a)
	red.Emit("msg", "11")
	expectOnly("11", a)

	// FetchSockets, SocketsJoin, DisconnectSockets.
	if n := len(e.io.To("blue").FetchSockets()); n != 2 {
		t.Fatalf("%d sockets in blue", n)
	}
	e.io.To("blue").SocketsJoin("green")
	e.io.To("green").Emit("msg", "12")
	expectOnly("12", b, c)
	e.io.To("muted").DisconnectSockets(false)
	d.expect("41")
	c.expect("41")
	waitFor(t, "the muted sockets to leave", func() bool { return e.io.Of("/").Len() == 2 })
}

func TestNamespacesAreSeparate(t *testing.T) { eachDriver(t, testNamespacesAreSeparate) }

func testNamespacesAreSeparate(t *testing.T) {
	noLeaks(t)
	e := newEnv(t, nil)
	chat := e.io.Of("/chat")
	socketio.On(chat, "hello", func(ctx context.Context, s *socketio.Socket, name string) error {
		return chat.Emit("hello", "chat:"+name)
	})
	socketio.On(e.io, "hello", func(ctx context.Context, s *socketio.Socket, name string) error {
		return e.io.Emit("hello", "main:"+name)
	})
	r := e.dial()
	main := r.connect("/", "")
	sub := r.connect("/chat", `{"user":"x"}`)
	if main == sub {
		t.Fatal("the same id in two namespaces")
	}
	r.send(`42/chat,["hello","x"]`)
	r.expect(`42/chat,["hello","chat:x"]`)
	r.send(`42["hello","y"]`)
	r.expect(`42["hello","main:y"]`)
	// Leaving one namespace keeps the other.
	r.send(`41/chat,`)
	r.send(`42["hello","z"]`)
	r.expect(`42["hello","main:z"]`)
	if chat.Len() != 0 || e.io.Of("/").Len() != 1 {
		t.Fatalf("Len: chat %d, main %d", chat.Len(), e.io.Of("/").Len())
	}
	// An event for a namespace the client is not in closes the
	// connection, as in the reference.
	r.send(`42/chat,["hello","w"]`)
	r.awaitClose()
}

func TestMiddlewares(t *testing.T) { eachDriver(t, testMiddlewares) }

func testMiddlewares(t *testing.T) {
	noLeaks(t)
	e := newEnv(t, nil)
	admin := e.io.Of("/admin")
	admin.Use(func(ctx context.Context, s *socketio.Socket) error {
		var auth struct{ Token string }
		if err := s.Auth(&auth); err != nil || auth.Token == "" {
			return &socketio.Error{Message: "not authorized", Data: map[string]string{"reason": "no token"}}
		}
		s.SetData(auth.Token)
		s.Join("staff")
		return nil
	})
	admin.Use(func(ctx context.Context, s *socketio.Socket) error {
		if s.Data() == "banned" {
			return errors.New("banned")
		}
		return nil
	})
	connected := make(chan *socketio.Socket, 1)
	admin.OnConnection(func(s *socketio.Socket) { connected <- s })
	r := e.dial()
	r.send("40/admin,")
	r.expect(`44/admin,{"message":"not authorized","data":{"reason":"no token"}}`)
	r.send(`40/admin,{"token":"banned"}`)
	r.expect(`44/admin,{"message":"banned"}`)
	id := r.connect("/admin", `{"token":"t1"}`)
	s := <-connected
	if s.ID() != id || s.Data() != "t1" || !slices.Contains(s.Rooms(), "staff") || !s.Connected() {
		t.Fatalf("socket %s data %v rooms %v", s.ID(), s.Data(), s.Rooms())
	}
	if h := s.Handshake(); string(h.Auth) != `{"token":"t1"}` || h.Address == "" || h.Query.Get("EIO") != "4" {
		t.Fatalf("handshake %+v", h)
	}
}

func TestDynamicNamespaces(t *testing.T) { eachDriver(t, testDynamicNamespaces) }

func testDynamicNamespaces(t *testing.T) {
	noLeaks(t)
	e := newEnv(t, &socketio.Options{CleanupEmptyChildNamespaces: true})
	rooms := e.io.OfRegexp(regexp.MustCompile(`^/room-\d+$`))
	var mu sync.Mutex
	var seen []string
	rooms.OnConnection(func(s *socketio.Socket) {
		mu.Lock()
		seen = append(seen, s.Namespace().Name())
		mu.Unlock()
	})
	socketio.OnAck(rooms, "where", func(ctx context.Context, s *socketio.Socket, _ struct{}) (string, error) {
		return s.Namespace().Name(), nil
	})
	teams := e.io.OfFunc(func(name string, auth json.RawMessage) bool {
		return strings.HasPrefix(name, "/team-") && strings.Contains(string(auth), "member")
	})
	teams.Use(func(ctx context.Context, s *socketio.Socket) error { return nil })

	r := e.dial()
	r.connect("/room-1", "")
	r.connect("/room-22", "")
	r.send("40/room-x")
	r.expect(`44/room-x,{"message":"Invalid namespace"}`)
	r.send("40/team-a,{}")
	r.expect(`44/team-a,{"message":"Invalid namespace"}`)
	r.connect("/team-a", `{"role":"member"}`)
	r.send(`42/room-22,1["where"]`)
	r.expect(`43/room-22,1["/room-22"]`)
	if n := len(rooms.Children()); n != 2 || rooms.Len() != 2 {
		t.Fatalf("%d children, Len %d", n, rooms.Len())
	}
	// Emitting on the dynamic namespace reaches every child.
	rooms.Emit("all", 1)
	got := []string{r.next(), r.next()}
	slices.Sort(got)
	if !slices.Equal(got, []string{`42/room-1,["all",1]`, `42/room-22,["all",1]`}) {
		t.Fatalf("got %q", got)
	}
	// Empty children go away.
	r.send("41/room-1,")
	waitFor(t, "the empty child to go", func() bool { return len(rooms.Children()) == 1 })
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(seen)
	if !slices.Equal(seen, []string{"/room-1", "/room-22"}) {
		t.Fatalf("connections seen %q", seen)
	}
}

func TestDisconnectReasons(t *testing.T) { eachDriver(t, testDisconnectReasons) }

func testDisconnectReasons(t *testing.T) {
	noLeaks(t)
	e := newEnv(t, nil)
	reasons := make(chan error, 4)
	e.io.OnDisconnect(func(s *socketio.Socket, reason error) { reasons <- reason })
	sockets := make(chan *socketio.Socket, 4)
	e.io.OnConnection(func(s *socketio.Socket) {
		s.OnDisconnect(func(reason error) { reasons <- fmt.Errorf("socket: %w", reason) })
		sockets <- s
	})
	check := func(want error) {
		t.Helper()
		for range 2 {
			if err := <-reasons; !errors.Is(err, want) {
				t.Fatalf("reason %v, want %v", err, want)
			}
		}
	}
	r := e.dial()
	r.connect("/", "")
	<-sockets
	r.send("41")
	check(socketio.ErrClientNamespaceDisconnect)

	r.connect("/", "")
	s := <-sockets
	s.Disconnect()
	r.expect("41")
	check(socketio.ErrServerNamespaceDisconnect)

	r.connect("/", "")
	s = <-sockets
	s.Close()
	r.expect("41")
	r.awaitClose()
	check(socketio.ErrServerNamespaceDisconnect)

	r = e.dial()
	r.connect("/", "")
	<-sockets
	r.c.Close(ws.CloseNormal, "")
	check(socketio.ErrTransportClose)
}

func TestConnectTimeout(t *testing.T) { eachDriver(t, testConnectTimeout) }

func testConnectTimeout(t *testing.T) {
	noLeaks(t)
	e := newEnv(t, &socketio.Options{ConnectTimeout: 100 * time.Millisecond})
	// The server's timer starts with the session, which the dial opens:
	// measured from before the dial, the close cannot come sooner.
	start := time.Now()
	r := e.dial()
	r.awaitClose()
	if d := time.Since(start); d < 90*time.Millisecond {
		t.Fatalf("closed after %v", d)
	}
	// Joining in time keeps the connection. A join that a busy machine
	// delayed past the timeout (the connection closed instead of the
	// CONNECT answer, 100 ms or more after the dial began) says nothing
	// and is tried again.
	for try := 1; ; try++ {
		start := time.Now()
		r = e.dial()
		r.send("40")
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		_, msg, err := r.c.ReadMessage(ctx, nil)
		cancel()
		if err == nil {
			if !strings.HasPrefix(string(msg), "40{") {
				t.Fatalf("CONNECT answer %q", msg)
			}
			break
		}
		if d := time.Since(start); d < 90*time.Millisecond || try == 5 {
			t.Fatalf("try %d: closed after %v instead of answering CONNECT: %v", try, d, err)
		}
	}
	time.Sleep(200 * time.Millisecond)
	r.send(`42["x"]`)
	r.send("41")
	r.send("40")
	if !strings.HasPrefix(r.next(), "40{") {
		t.Fatal("connection closed after joining in time")
	}
}

func TestEmitRefusesReservedNamesAndBadArguments(t *testing.T) {
	eachDriver(t, testEmitRefusesReservedNamesAndBadArguments)
}

func testEmitRefusesReservedNamesAndBadArguments(t *testing.T) {
	e := newEnv(t, nil)
	for _, name := range []string{"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"} {
		if err := e.io.Emit(name); err == nil {
			t.Errorf("Emit(%q) accepted", name)
		}
	}
	if err := e.io.Emit("x", make(chan int)); err == nil {
		t.Error("Emit of a channel accepted")
	}
}

func TestQueuedEventsAreBounded(t *testing.T) { eachDriver(t, testQueuedEventsAreBounded) }

func testQueuedEventsAreBounded(t *testing.T) {
	noLeaks(t)
	for _, opts := range []*socketio.Options{{MaxQueuedEvents: 2}, {MaxQueuedBytes: 64}} {
		e := newEnv(t, opts)
		release := make(chan struct{})
		started := make(chan struct{}, 10)
		socketio.On(e.io, "block", func(ctx context.Context, s *socketio.Socket, _ socketio.Args) error {
			select {
			case started <- struct{}{}:
			default:
			}
			<-release
			return nil
		})
		other := e.io.Of("/other")
		r := e.dial()
		r.connect("/", "")
		// On the event loop, the reading pauses behind the full queue
		// after the read in progress, whose events are queued: the
		// events must fill more than one read (64 KiB) for the CONNECT
		// to wait.
		events := 6
		if onLoop(t) {
			events = 3000
		}
		for range events {
			r.send(`42["block","` + strings.Repeat("x", 30) + `"]`)
		}
		r.send("40/other,")
		<-started
		// The reading stopped behind the full queue: the CONNECT after the
		// events waits, and so does the socket it would make.
		time.Sleep(100 * time.Millisecond)
		if n := other.Len(); n != 0 {
			t.Fatalf("%+v: the CONNECT behind a full queue was read (%d sockets)", opts, n)
		}
		close(release)
		if !strings.HasPrefix(r.next(), "40/other,{") {
			t.Fatal("no CONNECT answer once the handlers ran")
		}
	}
}

func TestHandlersStayInOrderAcrossTheReadingHandOff(t *testing.T) {
	eachDriver(t, testHandlersStayInOrderAcrossTheReadingHandOff)
}

func testHandlersStayInOrderAcrossTheReadingHandOff(t *testing.T) {
	// Handlers run on the reading goroutine until one takes long; then the
	// reading moves to another goroutine and the slow handler's goroutine
	// works off the events that came meanwhile. Through every such move,
	// one socket's handlers never overlap, run in the order the events
	// came, and their acknowledgements go out in that order.
	noLeaks(t)
	e := newEnv(t, nil)
	var running, calls atomic.Int32
	socketio.OnAck(e.io, "work", func(ctx context.Context, s *socketio.Socket, n int) (int, error) {
		if running.Add(1) != 1 {
			t.Errorf("event %d: handlers overlap", n)
		}
		if got := calls.Add(1) - 1; int(got) != n {
			t.Errorf("event %d ran as call %d", n, got)
		}
		if n%7 == 3 {
			time.Sleep(5 * time.Millisecond) // past the budget: the reading moves on
		}
		running.Add(-1)
		return n, nil
	})
	r := e.dial()
	r.connect("/", "")
	const events = 60
	for i := range events {
		r.send(fmt.Sprintf(`42%d["work",%d]`, i, i))
		if i%10 == 9 {
			// Let the reader catch up now and then, so that some events
			// find the socket idle and run on the reading goroutine.
			time.Sleep(8 * time.Millisecond)
		}
	}
	for i := range events {
		r.expect(fmt.Sprintf(`43%d[%d]`, i, i))
	}
}
