package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/engineio"
	"github.com/rfc6455/ws/socketio"
	"github.com/rfc6455/ws/socketio/parser"
)

// Disconnect reasons, passed to the OnDisconnect handler and wrapped by the
// errors of calls that the disconnection ended (errors.Is). The transport's
// reasons are engineio's: engineio.ErrTransportClose ("transport close"),
// engineio.ErrTransportError, engineio.ErrPingTimeout and
// engineio.ErrParseError.
var (
	// ErrServerDisconnect: the server disconnected the socket (a
	// DISCONNECT packet, the reference's "io server disconnect"). The
	// socket does not reconnect by itself.
	ErrServerDisconnect = errors.New("io server disconnect")
	// ErrClientDisconnect: Disconnect (or Manager.Close) was called ("io
	// client disconnect").
	ErrClientDisconnect = errors.New("io client disconnect")
	// ErrReconnectFailed: the Manager gave up after MaxAttempts.
	ErrReconnectFailed = errors.New("socket.io client: reconnection failed")
	// ErrManagerClosed: the Manager was closed.
	ErrManagerClosed = errors.New("socket.io client: manager closed")
	// ErrNotConnected is returned by Emit and its relatives when the
	// socket is not connected and Options.NoBuffer is set, or when its
	// buffer of packets waiting for a connection is full.
	ErrNotConnected = errors.New("socket.io client: not connected")
)

// ConnectError is the server's refusal of a namespace (CONNECT_ERROR): an
// unknown namespace, or a middleware that said no, with its message and
// optional data.
type ConnectError struct {
	Message string
	Data    json.RawMessage
}

func (e *ConnectError) Error() string { return "socket.io client: connect error: " + e.Message }

// DefaultSendBuffer is how many packets a disconnected socket keeps for its
// next connection when SocketOptions.SendBuffer is zero.
const DefaultSendBuffer = 1024

// SocketOptions configure a Socket.
type SocketOptions struct {
	// Auth is the CONNECT packet's auth payload, marshalled to a JSON
	// object on each connection (the reference's auth option).
	Auth any
	// AuthFunc, if set, is called before each connection for the auth
	// payload instead of Auth (a token that expires).
	AuthFunc func() (any, error)
	// SendBuffer bounds the packets emitted while disconnected, sent on
	// the next connection; zero means DefaultSendBuffer, a negative value
	// means none (Emit fails with ErrNotConnected while disconnected).
	SendBuffer int
}

// Socket is one namespace of a Manager's connection: it emits and receives
// events, with acknowledgements both ways. Handlers run one at a time, in
// the order the server sent the events, on a goroutine of the Socket (not
// the connection's reader, so a handler may emit and wait for acks). Its
// methods are safe for concurrent use.
type Socket struct {
	m           *Manager
	nsp         string
	opts        SocketOptions
	ownsManager bool

	mu        sync.Mutex
	engine    *engineio.Client // the session the socket is connected (or connecting) on
	active    bool             // wants to be connected (reconnects)
	connected bool
	id        string
	pid       string // connection state recovery: the private session id
	offset    string // ... and the offset of the last packet received
	recovered bool
	waiters   []chan error // Connect calls waiting
	nextAck   uint64
	acks      map[uint64]*pendingAck
	buffer    [][]*engineio.Prepared // packets waiting for a connection
	handlers  map[string]func(*Event)
	onAny     func(*Event)
	onConnect func()
	onDisc    func(reason error)
	onConnErr func(err error)

	// The handler queue: events and lifecycle calls, run in order by an
	// on-demand worker goroutine.
	qmu     sync.Mutex
	queue   []func()
	running bool
}

// pendingAck is an acknowledgement awaited; sent says whether its packet
// went out on a connection (rather than waiting in the buffer), so that the
// end of that connection fails it.
type pendingAck struct {
	ch   chan ackResult
	sent bool
}

type ackResult struct {
	args Args
	err  error
}

func newSocket(m *Manager, nsp string, opts *SocketOptions) *Socket {
	s := &Socket{m: m, nsp: nsp, acks: map[uint64]*pendingAck{}, handlers: map[string]func(*Event){}}
	if opts != nil {
		s.opts = *opts
	}
	if s.opts.SendBuffer == 0 {
		s.opts.SendBuffer = DefaultSendBuffer
	}
	return s
}

// Namespace returns the socket's namespace.
func (s *Socket) Namespace() string { return s.nsp }

// Manager returns the socket's Manager.
func (s *Socket) Manager() *Manager { return s.m }

// ID returns the id the server gave the socket on its last connection
// ("" before the first).
func (s *Socket) ID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.id
}

// Connected reports whether the socket is connected.
func (s *Socket) Connected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connected
}

// Recovered reports whether the last connection restored the previous
// session (Socket.IO 4.6's connection state recovery): same id, rooms
// kept, and the packets missed meanwhile delivered.
func (s *Socket) Recovered() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.recovered
}

func (s *Socket) isActive() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.active
}

// OnConnect sets the handler called after each connection (and
// reconnection) to the namespace.
func (s *Socket) OnConnect(fn func()) {
	s.mu.Lock()
	s.onConnect = fn
	s.mu.Unlock()
}

// OnDisconnect sets the handler called when a connection ends, with the
// reason (ErrServerDisconnect, ErrClientDisconnect, or a transport reason
// of package engineio, after which the socket reconnects by itself).
func (s *Socket) OnDisconnect(fn func(reason error)) {
	s.mu.Lock()
	s.onDisc = fn
	s.mu.Unlock()
}

// OnConnectError sets the handler called when the server refuses the
// namespace (a *ConnectError); the socket then stays disconnected.
func (s *Socket) OnConnectError(fn func(err error)) {
	s.mu.Lock()
	s.onConnErr = fn
	s.mu.Unlock()
}

// OnEvent sets the handler of the event name, replacing any other; nil
// removes it. Typed handlers are set with On and OnAck.
func (s *Socket) OnEvent(name string, fn func(*Event)) {
	s.mu.Lock()
	if fn == nil {
		delete(s.handlers, name)
	} else {
		s.handlers[name] = fn
	}
	s.mu.Unlock()
}

// OnAny sets the handler of the events that have no handler of their own.
func (s *Socket) OnAny(fn func(*Event)) {
	s.mu.Lock()
	s.onAny = fn
	s.mu.Unlock()
}

// On sets a typed handler for the event name, mirroring socketio.On on the
// server: fn receives the event's first argument decoded into T (further
// arguments are ignored). Three types are special: Args receives every
// argument undecoded, struct{} accepts an event without arguments, and a
// pointer type makes the argument optional (nil when missing). When the
// argument is missing or does not decode, fn is not called. When the
// server asked for an acknowledgement, it is sent once fn returns: with no
// arguments if fn returned nil, with {"error":{"code","message"}} otherwise
// (the server's convention); errors are also logged. ctx ends when the
// Manager is closed.
func On[T any](s *Socket, name string, fn func(ctx context.Context, arg T) error) {
	s.OnEvent(name, func(e *Event) {
		var v T
		err := decodeArg(e.Args, &v)
		if err == nil {
			err = fn(e.ctx, v)
		}
		if err != nil {
			s.handlerFailed(e, err)
			return
		}
		e.Ack(e.ctx)
	})
}

// OnAck sets a typed handler for the event name that answers the server's
// acknowledgement, mirroring socketio.OnAck: fn's result is the ack's
// argument (an Args result is spread as its arguments). When fn fails, or
// the argument does not decode, the ack carries {"error":{"code",
// "message"}} instead.
func OnAck[T, R any](s *Socket, name string, fn func(ctx context.Context, arg T) (R, error)) {
	s.OnEvent(name, func(e *Event) {
		var v T
		err := decodeArg(e.Args, &v)
		if err == nil {
			var r R
			if r, err = fn(e.ctx, v); err == nil {
				e.Ack(e.ctx, r)
				return
			}
		}
		s.handlerFailed(e, err)
	})
}

// decodeArg decodes what a handler of type T expects from args.
func decodeArg[T any](args Args, v *T) error {
	switch p := any(v).(type) {
	case *Args:
		*p = args
		return nil
	case *struct{}:
		return nil
	}
	if args.Len() == 0 {
		if reflect.TypeFor[T]().Kind() == reflect.Pointer {
			return nil
		}
		return &HandlerError{Code: CodeInvalidPayload, Message: fmt.Sprintf("expected an argument (%v)", reflect.TypeFor[T]())}
	}
	return args.Decode(0, v) // a *HandlerError with CodeInvalidPayload when it fails
}

// handlerFailed reports a handler's error: in the ack if the server asked
// for one, and in the log.
func (s *Socket) handlerFailed(e *Event, err error) {
	s.m.logger.Warn("socket.io client: event handler failed", "event", e.Name, "nsp", s.nsp, "err", err)
	he, ok := err.(*HandlerError)
	if !ok {
		he = &HandlerError{Code: CodeInternal, Message: err.Error()}
	}
	e.Ack(e.ctx, struct {
		Error *HandlerError `json:"error"`
	}{he})
}

// Event is a received event.
type Event struct {
	// Name is the event's name.
	Name string
	// Args are its arguments.
	Args Args

	s     *Socket
	e     *engineio.Client
	ctx   context.Context
	id    uint64
	hasID bool
	acked bool
}

// WantsAck reports whether the server asked for an acknowledgement.
func (e *Event) WantsAck() bool { return e.hasID }

// Ack sends the acknowledgement the server asked for, with args as its
// arguments. Only the first call sends; Ack does nothing when the server
// asked for none, or when the connection the event came on has ended.
func (e *Event) Ack(ctx context.Context, args ...any) error {
	if !e.hasID || e.acked {
		return nil
	}
	e.acked = true
	ps, err := e.s.encode(parser.Ack, "", args, e.id, true)
	if err != nil {
		return err
	}
	return e.e.SendPrepared(ctx, ps...)
}

// Connect connects the socket to its namespace, opening the Manager's
// connection if needed, and waits until the server accepts (nil), refuses
// (a *ConnectError), or ctx ends. Once connected, the socket reconnects by
// itself after losing the connection, until Disconnect.
func (s *Socket) Connect(ctx context.Context) error {
	s.mu.Lock()
	if s.connected {
		s.mu.Unlock()
		return nil
	}
	s.active = true
	ch := make(chan error, 1)
	s.waiters = append(s.waiters, ch)
	e := s.engine
	s.mu.Unlock()
	if e == nil {
		if err := s.m.ensureOpen(ctx); err != nil {
			s.dropWaiter(ch)
			return err
		}
		if e := s.m.Engine(); e != nil {
			s.onEngineOpen(e)
		}
	}
	select {
	case err := <-ch:
		return err
	case <-ctx.Done():
		s.dropWaiter(ch)
		return ctx.Err()
	}
}

func (s *Socket) dropWaiter(ch chan error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, w := range s.waiters {
		if w == ch {
			s.waiters = append(s.waiters[:i], s.waiters[i+1:]...)
			return
		}
	}
}

// Disconnect leaves the namespace (a DISCONNECT packet) and stops
// reconnecting; the connection closes when no socket of the Manager uses
// it. OnDisconnect gets ErrClientDisconnect.
func (s *Socket) Disconnect() error {
	s.disconnect(ErrClientDisconnect, true)
	if s.ownsManager {
		s.m.Close()
	} else {
		s.m.socketDone()
	}
	return nil
}

// disconnect ends the socket's connection with reason and makes it
// inactive; send says whether to tell the server.
func (s *Socket) disconnect(reason error, send bool) {
	s.mu.Lock()
	wasConnected := s.connected
	e := s.engine
	s.active = false
	s.connected = false
	s.engine = nil
	s.buffer = nil
	waiters := s.waiters
	s.waiters = nil
	acks := s.acks
	s.acks = map[uint64]*pendingAck{}
	s.mu.Unlock()
	for _, w := range waiters {
		w <- reason
	}
	for _, a := range acks {
		a.ch <- ackResult{err: reason}
	}
	if e != nil && send && wasConnected {
		p := parser.Packet{Type: parser.Disconnect, Namespace: s.nsp}
		if pp, err := engineio.NewPrepared(ws.Text, p.AppendText(nil)); err == nil {
			e.SendPrepared(context.Background(), pp)
		}
	}
	if wasConnected {
		s.lifecycle(func() {
			if fn := s.handler(func() any { return s.onDisc }).(func(error)); fn != nil {
				fn(reason)
			}
		})
	}
}

// handler reads a handler field under the lock.
func (s *Socket) handler(get func() any) any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return get()
}

// onEngineOpen sends CONNECT on a new session if the socket wants one.
func (s *Socket) onEngineOpen(e *engineio.Client) {
	s.mu.Lock()
	if !s.active || s.engine == e {
		s.mu.Unlock()
		return
	}
	s.engine = e
	auth, err := s.authPayload()
	s.mu.Unlock()
	if err != nil {
		s.connectFailed(fmt.Errorf("socket.io client: auth: %w", err))
		return
	}
	p := parser.Packet{Type: parser.Connect, Namespace: s.nsp, Data: auth}
	pp, err := engineio.NewPrepared(ws.Text, p.AppendText(nil))
	if err == nil {
		err = e.SendPrepared(s.m.ctx, pp)
	}
	if err != nil {
		s.m.logger.Debug("socket.io client: CONNECT not sent", "nsp", s.nsp, "err", err)
	}
}

// authPayload builds the CONNECT payload: the auth object, with the
// recovery fields (pid, offset) when the server gave a pid; mu held.
func (s *Socket) authPayload() ([]byte, error) {
	var auth any = s.opts.Auth
	if s.opts.AuthFunc != nil {
		a, err := s.opts.AuthFunc()
		if err != nil {
			return nil, err
		}
		auth = a
	}
	var data []byte
	if auth != nil {
		var err error
		if data, err = json.Marshal(auth); err != nil {
			return nil, err
		}
		if len(data) == 0 || data[0] != '{' {
			return nil, errors.New("the auth payload is not a JSON object")
		}
	}
	if s.pid == "" {
		return data, nil
	}
	// Connection state recovery (socket.io 4.6): the private id and the
	// offset of the last packet received go with the auth payload.
	obj := map[string]json.RawMessage{}
	if data != nil {
		if err := json.Unmarshal(data, &obj); err != nil {
			return nil, err
		}
	}
	obj["pid"], _ = json.Marshal(s.pid)
	if s.offset != "" {
		obj["offset"], _ = json.Marshal(s.offset)
	}
	return json.Marshal(obj)
}

func (s *Socket) connectFailed(err error) {
	s.mu.Lock()
	s.active = false
	s.engine = nil
	waiters := s.waiters
	s.waiters = nil
	s.mu.Unlock()
	for _, w := range waiters {
		w <- err
	}
	s.lifecycle(func() {
		if fn := s.handler(func() any { return s.onConnErr }).(func(error)); fn != nil {
			fn(err)
		}
	})
	s.m.socketDone()
}

// onEngineClose disconnects the socket when its session ended; it stays
// active, and reconnects with the Manager.
func (s *Socket) onEngineClose(reason error) {
	s.mu.Lock()
	wasConnected := s.connected
	s.connected = false
	s.engine = nil
	var failed []*pendingAck
	for id, a := range s.acks {
		if a.sent {
			failed = append(failed, a)
			delete(s.acks, id)
		}
	}
	s.mu.Unlock()
	for _, a := range failed {
		a.ch <- ackResult{err: reason}
	}
	if wasConnected {
		s.lifecycle(func() {
			if fn := s.handler(func() any { return s.onDisc }).(func(error)); fn != nil {
				fn(reason)
			}
		})
	}
}

// onPacket handles a packet of the socket's namespace.
func (s *Socket) onPacket(e *engineio.Client, p *parser.Packet) {
	switch p.Type {
	case parser.Connect:
		var ok struct {
			SID string `json:"sid"`
			PID string `json:"pid"`
		}
		if p.Data != nil {
			json.Unmarshal(p.Data, &ok)
		}
		s.mu.Lock()
		if s.engine != e || !s.active {
			s.mu.Unlock()
			return
		}
		s.connected = true
		s.id = ok.SID
		// socket.io-client: recovered = pid && this._pid === pid.
		s.recovered = ok.PID != "" && ok.PID == s.pid
		s.pid = ok.PID
		if !s.recovered {
			s.offset = ""
		}
		waiters := s.waiters
		s.waiters = nil
		buffered := s.buffer
		s.buffer = nil
		for _, a := range s.acks {
			a.sent = true
		}
		s.mu.Unlock()
		s.lifecycle(func() {
			if fn := s.handler(func() any { return s.onConnect }).(func()); fn != nil {
				fn()
			}
		})
		for _, ps := range buffered {
			e.SendPrepared(s.m.ctx, ps...)
		}
		for _, w := range waiters {
			w <- nil
		}
	case parser.ConnectError:
		ce := &ConnectError{}
		var obj struct {
			Message string          `json:"message"`
			Data    json.RawMessage `json:"data"`
		}
		if json.Unmarshal(p.Data, &obj) == nil {
			ce.Message, ce.Data = obj.Message, obj.Data
		} else {
			json.Unmarshal(p.Data, &ce.Message)
		}
		s.connectFailed(ce)
	case parser.Disconnect:
		s.disconnect(ErrServerDisconnect, false)
	case parser.Event, parser.BinaryEvent:
		name, ok := parser.EventName(p.Data)
		if !ok {
			return
		}
		args := socketio.ArgsOf(p, 1)
		s.mu.Lock()
		if s.pid != "" && args.Len() > 0 {
			// Recovery: the server appends the packet's offset as the
			// last argument of every event (socket.io 4.6).
			var off string
			if last := args.Raw(args.Len() - 1); len(last) > 0 && last[0] == '"' && json.Unmarshal(last, &off) == nil {
				s.offset = off
			}
		}
		fn := s.handlers[name]
		if fn == nil {
			fn = s.onAny
		}
		s.mu.Unlock()
		if fn == nil {
			return
		}
		ev := &Event{Name: name, Args: args, s: s, e: e, ctx: s.m.ctx, id: p.ID, hasID: p.HasID}
		s.lifecycle(func() { fn(ev) })
	case parser.Ack, parser.BinaryAck:
		args := socketio.ArgsOf(p, 0)
		s.mu.Lock()
		a := s.acks[p.ID]
		delete(s.acks, p.ID)
		s.mu.Unlock()
		if a != nil {
			a.ch <- ackResult{args: args}
		}
	}
}

// lifecycle queues fn to run on the socket's handler goroutine, in order.
func (s *Socket) lifecycle(fn func()) {
	s.qmu.Lock()
	s.queue = append(s.queue, fn)
	if s.running {
		s.qmu.Unlock()
		return
	}
	s.running = true
	s.qmu.Unlock()
	go s.run()
}

func (s *Socket) run() {
	for {
		s.qmu.Lock()
		if len(s.queue) == 0 {
			s.running = false
			s.queue = nil
			s.qmu.Unlock()
			return
		}
		fn := s.queue[0]
		s.queue[0] = nil
		s.queue = s.queue[1:]
		s.qmu.Unlock()
		fn()
	}
}

// encode builds the messages of an EVENT (name set) or ACK packet.
func (s *Socket) encode(t parser.Type, name string, args []any, id uint64, hasID bool) ([]*engineio.Prepared, error) {
	data, atts, err := socketio.AppendArgs(nil, name, args)
	if err != nil {
		return nil, err
	}
	if len(atts) > 0 {
		t += parser.BinaryEvent - parser.Event // EVENT → BINARY_EVENT, ACK → BINARY_ACK
	}
	p := parser.Packet{Type: t, Namespace: s.nsp, ID: id, HasID: hasID, Data: data, Attachments: atts}
	text := p.AppendText(nil)
	ps := make([]*engineio.Prepared, 0, 1+len(atts))
	pp, err := engineio.NewPrepared(ws.Text, text)
	if err != nil {
		return nil, err
	}
	ps = append(ps, pp)
	for _, a := range atts {
		pp, err := engineio.NewPrepared(ws.Binary, a)
		if err != nil {
			return nil, err
		}
		ps = append(ps, pp)
	}
	return ps, nil
}

// Emit sends the event name with args ([]byte and Binary travel as binary
// attachments), as the server's Emit does. While the socket is
// disconnected, the packet waits in a bounded buffer for the next
// connection. ctx bounds the wait for room in the connection's send queue.
func (s *Socket) Emit(ctx context.Context, name string, args ...any) error {
	_, err := s.emit(ctx, name, args, false)
	return err
}

// EmitWithAck sends the event name with args, asking for an
// acknowledgement, and waits for it: it returns the ack's arguments, or
// ctx's error when it ends first (a timeout), or an error wrapping the
// disconnect reason when the connection ends first. Reply makes the answer
// typed:
//
//	n, err := client.Reply[int](s.EmitWithAck(ctx, "count", "room1"))
func (s *Socket) EmitWithAck(ctx context.Context, name string, args ...any) (Args, error) {
	ch, err := s.emit(ctx, name, args, true)
	if err != nil {
		return Args{}, err
	}
	select {
	case r := <-ch:
		if r.err != nil {
			return Args{}, fmt.Errorf("socket.io client: no ack for %q: %w", name, r.err)
		}
		return r.args, nil
	case <-ctx.Done():
		s.mu.Lock()
		for id, a := range s.acks {
			if a.ch == ch {
				delete(s.acks, id)
			}
		}
		s.mu.Unlock()
		return Args{}, ctx.Err()
	}
}

// Reply decodes the first argument of an acknowledgement into T, passing
// EmitWithAck's error on, as socketio.Reply does on the server. An ack of
// the form {"error":{"code","message"}} (a failed handler of this module's
// server) is returned as a *HandlerError.
func Reply[T any](args Args, err error) (T, error) {
	var v T
	if err != nil {
		return v, err
	}
	if raw := args.Raw(0); len(raw) > 0 && raw[0] == '{' && bytes.Contains(raw, []byte(`"error"`)) {
		var e struct {
			Error *HandlerError `json:"error"`
		}
		if json.Unmarshal(raw, &e) == nil && e.Error != nil && e.Error.Code != "" {
			return v, e.Error
		}
	}
	return v, decodeArg(args, &v)
}

func (s *Socket) emit(ctx context.Context, name string, args []any, withAck bool) (chan ackResult, error) {
	if name == "" {
		return nil, errors.New("socket.io client: empty event name")
	}
	s.mu.Lock()
	var ch chan ackResult
	var id uint64
	if withAck {
		id = s.nextAck
		s.nextAck++
		ch = make(chan ackResult, 1)
	}
	s.mu.Unlock()
	ps, err := s.encode(parser.Event, name, args, id, withAck)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	var pending *pendingAck
	if withAck {
		pending = &pendingAck{ch: ch}
		s.acks[id] = pending
	}
	e := s.engine
	if !s.connected {
		if !s.active || len(s.buffer) >= s.opts.SendBuffer {
			delete(s.acks, id)
			s.mu.Unlock()
			return nil, ErrNotConnected
		}
		s.buffer = append(s.buffer, ps)
		s.mu.Unlock()
		return ch, nil
	}
	if pending != nil {
		pending.sent = true
	}
	s.mu.Unlock()
	if err := e.SendPrepared(ctx, ps...); err != nil {
		s.mu.Lock()
		delete(s.acks, id)
		s.mu.Unlock()
		return nil, err
	}
	return ch, nil
}
