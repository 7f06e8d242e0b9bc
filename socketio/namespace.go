package socketio

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"

	"github.com/rfc6455/ws/hub"
)

// Middleware runs for each socket connecting to a namespace, before it is
// connected: it may read the handshake (Socket.Handshake, Socket.Auth), set
// the socket's data and join rooms. An error refuses the connection: the
// client gets a connect_error whose message is the error's text, and whose
// data is Error.Data for an *Error. ctx ends if the connection closes
// meanwhile.
type Middleware func(ctx context.Context, s *Socket) error

// Namespace is a Socket.IO namespace: a channel with its own sockets,
// middlewares, event handlers and rooms, multiplexed on each client's
// connection. Server.Of returns one; the Server itself is the main
// namespace, "/". A namespace made by OfFunc or OfRegexp is dynamic: it has
// no sockets of its own, but creates a namespace (its child) for each name
// it accepts, which shares its middlewares and handlers.
type Namespace struct {
	srv    *Server
	name   string
	match  func(name string, auth json.RawMessage) bool // dynamic namespaces
	parent *Namespace                                   // the dynamic namespace that created this one
	hns    hub.Namespace
	rs     routes
	rec    *recovery // connection state recovery, if on
	ackIDs atomic.Uint64

	mu       sync.RWMutex
	mws      []Middleware
	onConn   []func(*Socket)
	onDisc   []func(*Socket, error)
	children []*Namespace // of a dynamic namespace
}

func newNamespace(srv *Server, name string, match func(string, json.RawMessage) bool) *Namespace {
	ns := &Namespace{srv: srv, name: name, match: match, hns: srv.hub.Namespace(name)}
	if r := srv.opts.Recovery; r != nil && match == nil {
		ns.rec = newRecovery(r)
	}
	return ns
}

func (ns *Namespace) routes() *routes { return &ns.rs }

// Name returns the namespace's name, such as "/chat"; a dynamic namespace's
// is its pattern.
func (ns *Namespace) Name() string { return ns.name }

// Parent returns the dynamic namespace that created ns, or nil.
func (ns *Namespace) Parent() *Namespace { return ns.parent }

// Server returns the server.
func (ns *Namespace) Server() *Server { return ns.srv }

// Use adds a middleware, run for each connecting socket after those added
// before it (and, in a dynamic namespace's child, after the dynamic
// namespace's own).
func (ns *Namespace) Use(mw Middleware) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	ns.mws = append(ns.mws, mw)
}

// OnConnection registers fn to run for each socket once it has connected:
// the client has its CONNECT answer, and may already be sending events,
// which the socket's handlers get after fn returns. This is where
// per-socket handlers (On with the socket as Router) are registered.
func (ns *Namespace) OnConnection(fn func(s *Socket)) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	ns.onConn = append(ns.onConn, fn)
}

// OnDisconnect registers fn to run when a socket of the namespace
// disconnects, with the reason (see the Err variables), after its running
// handler, if any, has returned.
func (ns *Namespace) OnDisconnect(fn func(s *Socket, reason error)) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	ns.onDisc = append(ns.onDisc, fn)
}

// middlewares returns the middlewares to run: the dynamic parent's, then
// the namespace's own.
func (ns *Namespace) middlewares() []Middleware {
	var mws []Middleware
	if ns.parent != nil {
		mws = ns.parent.middlewares()
	}
	ns.mu.RLock()
	defer ns.mu.RUnlock()
	return append(mws, ns.mws...)
}

// connectionHandlers returns the OnConnection functions to run.
func (ns *Namespace) connectionHandlers() []func(*Socket) {
	var fns []func(*Socket)
	if ns.parent != nil {
		fns = ns.parent.connectionHandlers()
	}
	ns.mu.RLock()
	defer ns.mu.RUnlock()
	return append(fns, ns.onConn...)
}

// disconnectHandlers returns the OnDisconnect functions to run.
func (ns *Namespace) disconnectHandlers() []func(*Socket, error) {
	var fns []func(*Socket, error)
	if ns.parent != nil {
		fns = ns.parent.disconnectHandlers()
	}
	ns.mu.RLock()
	defer ns.mu.RUnlock()
	return append(fns, ns.onDisc...)
}

// lookup returns the namespace's handler of event, or its dynamic
// parent's.
func (ns *Namespace) lookup(event string) eventFunc {
	if fn := ns.rs.get(event); fn != nil {
		return fn
	}
	if ns.parent != nil {
		return ns.parent.rs.get(event)
	}
	return nil
}

// Children returns the namespaces a dynamic namespace has created and
// still has.
func (ns *Namespace) Children() []*Namespace {
	ns.mu.RLock()
	defer ns.mu.RUnlock()
	return append([]*Namespace(nil), ns.children...)
}

// Len returns the number of sockets connected to the namespace (to its
// children, for a dynamic one).
func (ns *Namespace) Len() int {
	if ns.match != nil {
		n := 0
		for _, c := range ns.Children() {
			n += c.Len()
		}
		return n
	}
	return ns.hns.Len()
}

// Rooms returns the names of the namespace's rooms that have members,
// sorted; the rooms named by socket ids are not listed.
func (ns *Namespace) Rooms() []string { return ns.hns.Rooms() }

// Socket returns the connected socket of the namespace with the given id,
// or nil.
func (ns *Namespace) Socket(id string) *Socket {
	c := ns.srv.hub.Client(id)
	if c == nil {
		return nil
	}
	if s, ok := c.Data().(*Socket); ok && s.ns == ns {
		return s
	}
	return nil
}

// Sockets returns the namespace's connected sockets, in no particular
// order.
func (ns *Namespace) Sockets() []*Socket { return ns.all().FetchSockets() }

// nextAckID returns a new acknowledgement id; ids are per namespace, as in
// the reference server.
func (ns *Namespace) nextAckID() uint64 { return ns.ackIDs.Add(1) - 1 }

// all selects every socket of the namespace.
func (ns *Namespace) all() Operator { return Operator{ns: ns} }

// Emit sends an event to every socket of the namespace (of every child, for
// a dynamic one), encoded once for all of them. It never blocks: a client
// whose buffer is full is closed (or, with Options.DropSlow, misses it).
func (ns *Namespace) Emit(event string, args ...any) error { return ns.all().Emit(event, args...) }

// EmitWithAck sends an event to every socket of the namespace and waits for
// each one's acknowledgement, or for ctx to end (see Operator.EmitWithAck).
func (ns *Namespace) EmitWithAck(ctx context.Context, event string, args ...any) ([]Args, error) {
	return ns.all().EmitWithAck(ctx, event, args...)
}

// To selects the sockets of the namespace in any of rooms; chain To,
// Except and Volatile, then Emit.
//
//	chat.To("room1").Emit("message", "Hello room")
func (ns *Namespace) To(rooms ...string) Operator { return ns.all().To(rooms...) }

// In is To.
func (ns *Namespace) In(rooms ...string) Operator { return ns.all().To(rooms...) }

// Except selects the sockets of the namespace in none of rooms.
func (ns *Namespace) Except(rooms ...string) Operator { return ns.all().Except(rooms...) }

// Volatile selects every socket of the namespace, for events that may be
// lost (see Operator.Volatile).
func (ns *Namespace) Volatile() Operator { return ns.all().Volatile() }
