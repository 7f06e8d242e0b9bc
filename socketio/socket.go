package socketio

import (
	"context"
	crand "crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/rfc6455/ws/engineio"
	"github.com/rfc6455/ws/hub"
	"github.com/rfc6455/ws/socketio/parser"
)

// ErrDisconnected is the error of sending on, or waiting for an
// acknowledgement from, a socket that has disconnected.
var ErrDisconnected = errors.New("socketio: socket disconnected")

// Socket states.
const (
	stateConnecting = iota // CONNECT received; middlewares running
	stateConnected
	stateClosed
)

// Socket is a client's connection to one namespace. Its methods are safe
// for concurrent use.
type Socket struct {
	conn      *conn
	nsp       string // the namespace asked for
	ns        *Namespace
	c         *hub.Client // once connected
	id        string
	pid       string // private session id, with connection state recovery
	auth      string // the CONNECT payload (a JSON object); "{}" if there was none
	recovered bool   // set before the socket connects

	mu      sync.Mutex
	state   uint8
	running bool   // a goroutine runs the jobs: a worker, or the reading one (inline)
	idle    bool   // the worker waits for more jobs
	paused  bool   // the event loop paused the reading behind the full queue
	gen     uint32 // incremented to retire the waiting worker
	reason  error
	more    *socketMore // made when first needed
	jobs    []job
	queued  int           // bytes held by jobs
	wake    chan struct{} // while the worker waits for more jobs
}

// socketMore is the state of a Socket that many sockets never use, made
// when first needed (see Socket.extra): an idle socket is smaller without
// it. Its fields are guarded by Socket.mu.
type socketMore struct {
	rooms  []string // joined before connecting (middlewares, recovery)
	acks   map[uint64]func(Args)
	rs     *routes
	data   any
	onDisc []func(error)
	room   chan struct{} // closed when the job queue has room again
}

// extra returns s.more, making it if needed; s.mu is held.
func (s *Socket) extra() *socketMore {
	if s.more == nil {
		s.more = new(socketMore)
	}
	return s.more
}

// A job is a unit of a socket's work, run in order on its worker: the
// connection, each event, the disconnection.
type job struct {
	fn     func()
	size   int  // the bytes of the packet it holds
	always bool // runs after the socket has disconnected too
	loop   bool // queued by an event loop, which must not wait for room
}

func newSocket(c *conn, nsp string, auth string) *Socket {
	return &Socket{conn: c, nsp: nsp, auth: auth, id: newID()}
}

// newID returns an unpredictable id: 120 random bits, base64url (20
// characters, as the reference's base64id).
func newID() string {
	var b [15]byte
	crand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// ID returns the socket's id: unique, unpredictable, and safe to show to
// other clients (unlike the Engine.IO session id). With connection state
// recovery, a recovered socket has its old id back.
func (s *Socket) ID() string { return s.id }

// Namespace returns the socket's namespace.
func (s *Socket) Namespace() *Namespace { return s.ns }

// Server returns the server.
func (s *Socket) Server() *Server { return s.conn.srv }

// Recovered reports whether the socket's state was recovered after a
// temporary disconnection (connection state recovery): its id, rooms and
// data are those it had, and the broadcasts it missed were sent again.
func (s *Socket) Recovered() bool { return s.recovered }

// Connected reports whether the socket is connected: from the CONNECT
// answer until it disconnects.
func (s *Socket) Connected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state == stateConnected
}

// Context returns a context that ends when the socket disconnects (when
// the connection ends, while middlewares run).
func (s *Socket) Context() context.Context {
	s.mu.Lock()
	c := s.c
	s.mu.Unlock()
	if c != nil {
		return c.Context()
	}
	return s.conn.es.Context()
}

// Engine returns the Engine.IO session the socket runs on, shared with the
// client's sockets of other namespaces.
func (s *Socket) Engine() *engineio.Socket { return s.conn.es }

// Transport returns the transport in use: "polling" or "websocket".
func (s *Socket) Transport() string { return s.conn.es.Transport() }

// Request returns the connection's handshake request: its headers, query,
// remote address and TLS state. Each call builds a new *http.Request.
func (s *Socket) Request() *http.Request { return s.conn.es.Request() }

// Auth decodes the auth payload of the socket's CONNECT packet (the
// client's auth option) into v.
func (s *Socket) Auth(v any) error {
	if err := json.Unmarshal([]byte(s.auth), v); err != nil {
		return &Error{Code: CodeInvalidPayload, Message: "auth: " + jsonErrorText(err)}
	}
	return nil
}

// Handshake is what the reference server calls socket.handshake.
type Handshake struct {
	Auth    json.RawMessage // the CONNECT payload; {} if there was none
	Time    time.Time       // when the connection was opened
	Address string          // the client's address
	Headers http.Header
	Query   url.Values
	URL     string
	Secure  bool // TLS
	XDomain bool // an Origin header was sent
}

// Handshake returns the details of the socket's handshake.
func (s *Socket) Handshake() Handshake {
	r := s.Request()
	h := Handshake{Auth: json.RawMessage(s.auth), Time: time.Unix(0, s.conn.opened)}
	if r != nil {
		h.Address = r.RemoteAddr
		h.Headers = r.Header
		h.Query = r.URL.Query()
		h.URL = r.URL.RequestURI()
		h.Secure = r.TLS != nil
		h.XDomain = r.Header.Get("Origin") != ""
	}
	return h
}

// Data returns the data attached to the socket (the reference's
// socket.data), which connection state recovery restores.
func (s *Socket) Data() any {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.more == nil {
		return nil
	}
	return s.more.data
}

// SetData attaches data to the socket.
func (s *Socket) SetData(v any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.extra().data = v
}

func (s *Socket) routes() *routes {
	s.mu.Lock()
	defer s.mu.Unlock()
	x := s.extra()
	if x.rs == nil {
		x.rs = new(routes)
	}
	return x.rs
}

// OnDisconnect registers fn to run when the socket disconnects, with the
// reason, after the namespace's OnDisconnect handlers.
func (s *Socket) OnDisconnect(fn func(reason error)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	x := s.extra()
	x.onDisc = append(x.onDisc, fn)
}

// Join adds the socket to rooms of its namespace.
func (s *Socket) Join(rooms ...string) {
	s.mu.Lock()
	c := s.c
	if c == nil && s.state == stateConnecting {
		x := s.extra()
		x.rooms = append(x.rooms, rooms...)
	}
	s.mu.Unlock()
	if c != nil {
		c.Join(rooms...)
	}
}

// Leave removes the socket from rooms.
func (s *Socket) Leave(rooms ...string) {
	s.mu.Lock()
	c := s.c
	if c == nil && s.more != nil {
		s.more.rooms = slices.DeleteFunc(s.more.rooms, func(r string) bool { return slices.Contains(rooms, r) })
	}
	s.mu.Unlock()
	if c != nil {
		c.Leave(rooms...)
	}
}

// Rooms returns the rooms the socket is in, its own id first.
func (s *Socket) Rooms() []string {
	s.mu.Lock()
	c := s.c
	var pending []string
	if s.more != nil {
		pending = slices.Clone(s.more.rooms)
	}
	s.mu.Unlock()
	if c != nil {
		return append([]string{s.id}, c.Rooms()...)
	}
	slices.Sort(pending)
	return append([]string{s.id}, slices.Compact(pending)...)
}

// Emit sends an event to the socket's client, with its arguments encoded
// as JSON: a []byte (or a Binary anywhere in a value) as a binary
// attachment, a json.RawMessage as is, an Args value spread into its
// arguments, anything else through encoding/json. It never blocks: when
// the client's buffer is full, the connection is closed (or, with
// Options.DropSlow, the event dropped) and Emit returns hub.ErrQueueFull.
//
//	s.Emit("message", "Message received")
func (s *Socket) Emit(event string, args ...any) error {
	if err := checkName(event); err != nil {
		return err
	}
	if s.ns.rec != nil {
		// With connection state recovery the event goes through the
		// namespace, which keeps it with an offset, as in the reference.
		return Operator{ns: s.ns, rooms: []string{s.id}}.Emit(event, args...)
	}
	var e encoder
	e.open()
	e.string(event)
	if err := e.args(args); err != nil {
		return err
	}
	e.close()
	p, err := newPayload(eventPacket(s.ns.name, &e, nil), false)
	if err != nil {
		return err
	}
	return s.send(p)
}

// EmitWithAck sends an event to the client and waits for its
// acknowledgement, or for ctx to end (ctx's error), or for the socket to
// disconnect (ErrDisconnected). The acknowledgement's arguments come as
// Args; Reply decodes them.
//
//	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
//	defer cancel()
//	answer, err := socketio.Reply[string](s.EmitWithAck(ctx, "question", "ready?"))
func (s *Socket) EmitWithAck(ctx context.Context, event string, args ...any) (Args, error) {
	if err := checkName(event); err != nil {
		return Args{}, err
	}
	var e encoder
	e.open()
	e.string(event)
	if err := e.args(args); err != nil {
		return Args{}, err
	}
	e.close()
	id := s.ns.nextAckID()
	p, err := newPayload(eventPacket(s.ns.name, &e, &id), false)
	if err != nil {
		return Args{}, err
	}
	answer := make(chan Args, 1)
	if !s.addAck(id, func(a Args) { answer <- a }) {
		return Args{}, ErrDisconnected
	}
	if err := s.send(p); err != nil {
		s.removeAck(id)
		return Args{}, err
	}
	select {
	case a := <-answer:
		return a, nil
	case <-ctx.Done():
		s.removeAck(id)
		return Args{}, ctx.Err()
	case <-s.Context().Done():
		s.removeAck(id)
		return Args{}, ErrDisconnected
	}
}

// Volatile selects the socket, for events that may be lost (see
// Operator.Volatile).
func (s *Socket) Volatile() Operator {
	return Operator{ns: s.ns, rooms: []string{s.id}, volatile: true}
}

// Broadcast selects every socket of the namespace but s: the reference's
// socket.broadcast.
//
//	s.Broadcast().Emit("message", m) // to the others
func (s *Socket) Broadcast() Operator { return Operator{ns: s.ns, except: []string{s.id}} }

// To selects the sockets in any of rooms, but s.
func (s *Socket) To(rooms ...string) Operator { return s.Broadcast().To(rooms...) }

// In is To.
func (s *Socket) In(rooms ...string) Operator { return s.Broadcast().To(rooms...) }

// Except selects the sockets of the namespace in none of rooms, but s.
func (s *Socket) Except(rooms ...string) Operator { return s.Broadcast().Except(rooms...) }

// Disconnect disconnects the socket from its namespace: the client gets a
// DISCONNECT packet, the connection stays open for its other namespaces.
// The reason is ErrServerNamespaceDisconnect.
func (s *Socket) Disconnect() {
	if !s.Connected() {
		return
	}
	if p, err := newPayload(&parser.Packet{Type: parser.Disconnect, Namespace: s.ns.name}, false); err == nil {
		s.send(p)
	}
	s.onclose(ErrServerNamespaceDisconnect)
}

// Close disconnects every socket of the client's connection (each gets a
// DISCONNECT packet, reason ErrServerNamespaceDisconnect) and closes it:
// the reference's socket.disconnect(true).
func (s *Socket) Close() {
	c := s.conn
	c.mu.Lock()
	sockets := append([]*Socket(nil), c.sockets...)
	c.mu.Unlock()
	for _, x := range sockets {
		x.Disconnect()
	}
	c.close(ErrServerClose)
}

// send queues a packet for the client through the hub.
func (s *Socket) send(p *payload) error {
	s.mu.Lock()
	c := s.c
	s.mu.Unlock()
	if c == nil {
		return ErrDisconnected
	}
	return c.SendPayload(p)
}

// addAck registers a function for the acknowledgement with id.
func (s *Socket) addAck(id uint64, fn func(Args)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != stateConnected {
		return false
	}
	x := s.extra()
	if x.acks == nil {
		x.acks = make(map[uint64]func(Args))
	}
	x.acks[id] = fn
	return true
}

func (s *Socket) removeAck(id uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.more != nil {
		delete(s.more.acks, id)
	}
}

// packet handles a packet for the connected socket, on the connection's
// reading goroutine: acknowledgements at once, events on the worker.
func (s *Socket) packet(p *parser.Packet) {
	switch p.Type {
	case parser.Event, parser.BinaryEvent:
		if s.inline(p) {
			return
		}
		size := len(p.Data)
		for _, a := range p.Attachments {
			size += len(a)
		}
		s.enqueueSized(func() { s.event(p) }, size)
	case parser.Ack, parser.BinaryAck:
		var fn func(Args)
		s.mu.Lock()
		if s.more != nil {
			fn = s.more.acks[p.ID]
			delete(s.more.acks, p.ID)
		}
		s.mu.Unlock()
		if fn != nil {
			fn(argsOf(p.Data, 0, p.Attachments))
		}
	case parser.Disconnect:
		s.onclose(ErrClientNamespaceDisconnect)
	}
}

// inlineBudget is how long the handler of an event may run on the
// connection's reading goroutine before the reading moves to a new
// goroutine (engineio's Unblock), so that a handler that waits (for an
// acknowledgement from the same client, say) does not stop the socket's
// reading for longer.
const inlineBudget = time.Millisecond

// inline runs the handler of an event on the reading goroutine, when the
// socket's worker has nothing queued and the session's reading can move
// to another goroutine (WebSocket): a round trip then costs no goroutine
// hand-off, and the acknowledgement is written by the same goroutine. The
// handler runs as the socket's worker would (one at a time, in order); if
// it runs past inlineBudget, the reading goes on on a new goroutine, and
// this one stays the socket's worker for the events that came meanwhile.
// It reports false when the event must be queued instead.
func (s *Socket) inline(p *parser.Packet) bool {
	c := s.conn
	if !c.es.Unblockable() {
		return false
	}
	s.mu.Lock()
	if (s.running && !s.idle) || len(s.jobs) > 0 || s.state != stateConnected {
		s.mu.Unlock()
		return false
	}
	if s.running {
		// A worker waits for more work: it is retired (it ends when it
		// wakes), and this goroutine takes its place.
		s.gen++
		s.idle = false
		s.wake = nil
	}
	s.running = true
	s.mu.Unlock()
	c.inline.Store(inlineRunning)
	if c.unblock == nil {
		c.unblock = time.AfterFunc(inlineBudget, c.onInlineBudget)
	} else {
		c.unblock.Reset(inlineBudget)
	}
	s.event(p)
	if !c.inline.CompareAndSwap(inlineRunning, inlineIdle) {
		// The budget ran out: the reading went on elsewhere, and the
		// events that came meanwhile are queued for this worker.
		s.work()
		return true
	}
	c.unblock.Stop()
	s.mu.Lock()
	if len(s.jobs) == 0 {
		s.running = false
		s.mu.Unlock()
		return true
	}
	// Jobs queued by other goroutines meanwhile (the disconnection, say):
	// a worker of their own.
	s.mu.Unlock()
	go s.work()
	return true
}

// enqueue adds a job to the socket's worker, starting a goroutine for it if
// none runs: a socket without work has no goroutine.
func (s *Socket) enqueue(fn func(), always bool) { s.add(job{fn: fn, always: always}) }

// enqueueSized adds the job of an event holding size bytes. When
// MaxQueuedEvents jobs, or MaxQueuedBytes, wait, it blocks (the reading of
// the connection) until the worker has taken one, so that a client cannot
// make the server hold events without bound. On an event loop, which must
// not block (engineio's OnEventLoop), it queues the event and pauses the
// reading of the connection instead, until the worker has taken one
// (engineio's PauseReading): the queue then holds at most what one read
// brought beyond its bounds.
func (s *Socket) enqueueSized(fn func(), size int) {
	s.add(job{fn: fn, size: size, loop: s.conn.es.OnEventLoop()})
}

func (s *Socket) add(j job) {
	o := &s.conn.srv.opts
	s.mu.Lock()
	for !j.always && !s.paused && s.running && len(s.jobs) > 0 && (len(s.jobs) >= o.MaxQueuedEvents || s.queued+j.size > o.MaxQueuedBytes) {
		if j.loop {
			s.paused = true
			s.conn.pauseReading()
			break
		}
		x := s.extra()
		if x.room == nil {
			x.room = make(chan struct{})
		}
		room := x.room
		s.mu.Unlock()
		<-room
		s.mu.Lock()
	}
	s.jobs = append(s.jobs, j)
	s.queued += j.size
	start := !s.running
	s.running = true
	wake := s.wake
	s.mu.Unlock()
	if start {
		go s.work()
	} else if wake != nil {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
}

// workerLinger is how long a socket's worker waits for more work before it
// ends: long enough to serve a client's next event without a new goroutine
// (whose stack would grow again), short enough that an idle socket soon has
// none.
const workerLinger = 10 * time.Millisecond

// work runs the queued jobs in order, and ends when none has come for
// workerLinger.
func (s *Socket) work() {
	var idle *time.Timer
	defer func() {
		if idle != nil {
			idle.Stop()
		}
	}()
	o := &s.conn.srv.opts
	s.mu.Lock()
	gen := s.gen
	s.mu.Unlock()
	for {
		s.mu.Lock()
		if s.gen != gen {
			// Retired while it waited: the reading goroutine runs the
			// socket's handlers now (see inline).
			s.mu.Unlock()
			return
		}
		s.idle = false
		if s.more != nil && s.more.room != nil {
			// Room for one more: let a blocked reader try again.
			close(s.more.room)
			s.more.room = nil
		}
		if s.paused && len(s.jobs) < o.MaxQueuedEvents && s.queued <= o.MaxQueuedBytes {
			// The event loop paused the reading behind a full queue
			// (see add): room again.
			s.paused = false
			s.conn.resumeReading()
		}
		if len(s.jobs) == 0 {
			if s.wake == nil {
				s.wake = make(chan struct{}, 1)
			}
			wake := s.wake
			s.idle = true
			s.mu.Unlock()
			if idle == nil {
				idle = time.NewTimer(workerLinger)
			} else {
				idle.Reset(workerLinger)
			}
			select {
			case <-wake:
				continue
			case <-idle.C:
			}
			s.mu.Lock()
			if s.gen != gen {
				s.mu.Unlock()
				return
			}
			if len(s.jobs) > 0 {
				s.mu.Unlock()
				continue
			}
			s.running, s.idle = false, false
			s.jobs, s.wake = nil, nil
			s.mu.Unlock()
			return
		}
		j := s.jobs[0]
		s.jobs[0] = job{}
		if len(s.jobs) == 1 {
			// The queue's array is kept for the next event.
			s.jobs = s.jobs[:0]
		} else {
			s.jobs = s.jobs[1:]
		}
		s.queued -= j.size
		skip := s.state == stateClosed && !j.always
		s.mu.Unlock()
		if !skip {
			j.fn()
		}
	}
}

// connect connects the socket (its first job): it finds the namespace,
// restores its state if the client asks for recovery, runs the
// middlewares, joins the hub, answers CONNECT, sends the missed packets,
// and runs the connection handlers.
func (s *Socket) connect() {
	srv := s.conn.srv
	ns := srv.namespace(s.nsp, s.auth)
	if ns == nil {
		s.refuse(&Error{Message: "Invalid namespace"})
		return
	}
	s.ns = ns
	rec := ns.rec
	runMiddlewares := func() bool {
		mws := ns.middlewares()
		if len(mws) == 0 {
			// No context made for nothing: a session's context is
			// memory an idle socket would keep.
			return true
		}
		ctx := s.conn.es.Context()
		for _, mw := range mws {
			if err := s.guard(func() error { return mw(ctx, s) }); err != nil {
				s.refuse(err)
				return false
			}
		}
		return true
	}
	if (rec == nil || srv.opts.Recovery.RunMiddlewares) && !runMiddlewares() {
		return
	}
	var missed []*payload
	unlock := func() {}
	if rec != nil {
		// A recovered socket is attached, answered and sent what it missed
		// under the lock that orders the namespace's broadcasts, so that
		// none comes between the missed ones and the next.
		rec.mu.Lock()
		sess, m := rec.restoreLocked([]byte(s.auth))
		if sess != nil {
			unlock = rec.mu.Unlock
			s.id, s.pid, s.recovered, missed = sess.sid, sess.pid, true, m
			s.mu.Lock()
			x := s.extra()
			x.data = sess.data
			x.rooms = append(x.rooms, sess.rooms...)
			s.mu.Unlock()
		} else {
			rec.mu.Unlock()
			s.pid = newID()
			if !srv.opts.Recovery.RunMiddlewares && !runMiddlewares() {
				return
			}
		}
	}
	c, err := srv.hub.Attach(context.Background(), &s.conn.tr, hub.Info{ID: s.id, Namespace: ns.name, Data: s})
	if errors.Is(err, hub.ErrDuplicateID) && s.recovered {
		// The old socket has not noticed it is gone yet: this one is new.
		s.id, s.recovered, missed = newID(), false, nil
		c, err = srv.hub.Attach(context.Background(), &s.conn.tr, hub.Info{ID: s.id, Namespace: ns.name, Data: s})
	}
	if err != nil {
		unlock()
		s.refuse(&Error{Message: "server unavailable"})
		return
	}
	s.mu.Lock()
	if s.state != stateConnecting || s.conn.isGone() {
		// The connection ended while the middlewares ran.
		s.state = stateClosed
		s.mu.Unlock()
		unlock()
		c.Detach(nil)
		return
	}
	s.c, s.state = c, stateConnected
	var rooms []string
	if s.more != nil {
		rooms = s.more.rooms
		s.more.rooms = nil
	}
	s.mu.Unlock()
	if len(rooms) > 0 {
		c.Join(rooms...)
	}
	s.conn.joined()

	// CONNECT {"sid"} (and "pid" with recovery): protocol document,
	// "Connection to a namespace".
	var e encoder
	e.buf = append(e.buf, `{"sid":`...)
	e.string(s.id)
	if s.pid != "" {
		e.buf = append(e.buf, `,"pid":`...)
		e.string(s.pid)
	}
	e.buf = append(e.buf, '}')
	if p, err := newPayload(&parser.Packet{Type: parser.Connect, Namespace: ns.name, Data: e.buf}, false); err == nil {
		s.send(p)
	}
	for _, p := range missed {
		s.send(p)
	}
	unlock()
	for _, fn := range ns.connectionHandlers() {
		s.guard(func() error { fn(s); return nil })
	}
}

// refuse answers a CONNECT with CONNECT_ERROR {"message","data"}.
func (s *Socket) refuse(err error) {
	s.mu.Lock()
	if s.state == stateConnecting {
		s.state = stateClosed
	}
	s.mu.Unlock()
	s.conn.remove(s)
	msg, data := err.Error(), any(nil)
	var se *Error
	if errors.As(err, &se) {
		msg, data = se.Message, se.Data
	}
	body, jerr := json.Marshal(struct {
		Message string `json:"message"`
		Data    any    `json:"data,omitempty"`
	}{msg, data})
	if jerr != nil {
		body, _ = json.Marshal(struct {
			Message string `json:"message"`
		}{msg})
	}
	s.conn.srv.log.Debug("socketio: connection to a namespace refused", "sid", s.conn.es.ID(), "namespace", s.nsp, "err", err)
	s.conn.sendPacket(&parser.Packet{Type: parser.ConnectError, Namespace: s.nsp, Data: body})
}

// event runs the handler of an event, then acknowledges it if asked.
func (s *Socket) event(p *parser.Packet) {
	name, ok := parser.EventName(p.Data)
	if !ok {
		return
	}
	fn := s.lookup(name)
	if fn == nil {
		s.conn.srv.log.Debug("socketio: no handler for an event", "namespace", s.ns.name, "event", name)
		return
	}
	args := argsOf(p.Data, 1, p.Attachments)
	var ack []any
	err := s.guard(func() error {
		var err error
		ack, err = fn(s.Context(), s, args)
		return err
	})
	if err != nil {
		s.report(name, p, err)
		return
	}
	if p.HasID {
		s.ack(p.ID, ack)
	}
}

// lookup returns the handler of event: the socket's own, else its
// namespace's.
func (s *Socket) lookup(event string) eventFunc {
	var rs *routes
	s.mu.Lock()
	if s.more != nil {
		rs = s.more.rs
	}
	s.mu.Unlock()
	if fn := rs.get(event); fn != nil {
		return fn
	}
	return s.ns.lookup(event)
}

// ack sends the acknowledgement with id and args.
func (s *Socket) ack(id uint64, args []any) {
	var e encoder
	e.open()
	if err := e.args(args); err != nil {
		s.conn.srv.log.Warn("socketio: acknowledgement not encodable", "namespace", s.ns.name, "err", err)
		s.ackError(id, &Error{Code: CodeInternal, Message: "internal error"})
		return
	}
	e.close()
	pkt := &parser.Packet{Type: parser.Ack, Namespace: s.ns.name, ID: id, HasID: true, Data: e.buf, Attachments: e.bins}
	if len(e.bins) > 0 {
		pkt.Type = parser.BinaryAck
	}
	// Written by the worker itself (it has nothing else to do until the
	// client's next event), as a message of its own: its frame is not
	// kept, as that of a packet that may be batched with others is
	// (writeLoop's runs).
	if p, err := newDirectPayload(pkt); err == nil {
		p.write = true
		s.send(p)
	}
}

// ackError acknowledges with {"error":{"code","message"}}.
func (s *Socket) ackError(id uint64, se *Error) {
	s.ack(id, []any{struct {
		Error *Error `json:"error"`
	}{se}})
}

// report tells the client that the handler of an event failed: in the
// acknowledgement it asked for, or with an error event.
func (s *Socket) report(name string, p *parser.Packet, err error) {
	srv := s.conn.srv
	var se *Error
	if !errors.As(err, &se) {
		srv.log.Warn("socketio: handler failed", "namespace", s.ns.name, "event", name, "socket", s.id, "err", err)
		se = &Error{Code: CodeInternal, Message: "internal error"}
	}
	if p.HasID {
		s.ackError(p.ID, se)
		return
	}
	if srv.opts.ErrorEvent == "-" {
		return
	}
	s.Emit(srv.opts.ErrorEvent, struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Event   string `json:"event"`
	}{se.Code, se.Message, name})
}

// guard runs fn, recovering a panic: it is logged with its stack and
// becomes an internal error.
func (s *Socket) guard(fn func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			s.conn.srv.log.Error("socketio: recovered a panic", "namespace", s.nsp, "socket", s.id, "panic", v, "stack", string(debug.Stack()))
			err = fmt.Errorf("socketio: panic: %v", v)
		}
	}()
	return fn()
}

// onclose disconnects the socket with reason, once: it leaves its rooms and
// the hub (keeping its state if it may be recovered), its context ends, and
// the disconnect handlers run on its worker after the running handler.
func (s *Socket) onclose(reason error) {
	s.mu.Lock()
	prev := s.state
	if prev == stateClosed {
		s.mu.Unlock()
		return
	}
	s.state, s.reason = stateClosed, reason
	c := s.c
	if s.more != nil {
		s.more.acks = nil
	}
	s.mu.Unlock()
	s.conn.remove(s)
	if prev != stateConnected {
		return
	}
	ns := s.ns
	if ns.rec != nil && recoverable(reason) {
		ns.rec.persist(s.pid, s.id, s.Rooms(), s.Data())
	}
	var detachReason error
	if reason != ErrClientNamespaceDisconnect && reason != ErrServerNamespaceDisconnect {
		detachReason = reason
	}
	c.Detach(detachReason)
	if srv := ns.srv; srv.opts.CleanupEmptyChildNamespaces && ns.parent != nil {
		srv.removeChild(ns)
	}
	s.enqueue(func() {
		for _, fn := range ns.disconnectHandlers() {
			s.guard(func() error { fn(s, reason); return nil })
		}
		var fns []func(error)
		s.mu.Lock()
		if s.more != nil {
			fns = s.more.onDisc
		}
		s.mu.Unlock()
		for _, fn := range fns {
			s.guard(func() error { fn(reason); return nil })
		}
	}, true)
}
