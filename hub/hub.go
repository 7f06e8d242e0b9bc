package hub

import (
	"context"
	crand "crypto/rand"
	"encoding/base64"
	"errors"
	"iter"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/event"
	"github.com/rfc6455/ws/ratelimit"
)

// Overflow says what happens to a message for a client whose send queue is
// full.
type Overflow uint8

// Overflow policies.
const (
	// Drop drops the message for that client, counts it (Client.Dropped,
	// Stats.Dropped) and keeps the client. Send returns ErrQueueFull.
	Drop Overflow = iota
	// CloseSlow closes the slow client with Options.OverflowCode and the
	// reason "send queue full"; its OnDisconnect gets ErrQueueFull.
	CloseSlow
)

// Defaults for Options fields left zero.
const (
	DefaultQueueSize    = 256
	DefaultQueueBytes   = 4 << 20
	DefaultPingInterval = 30 * time.Second
	DefaultPongTimeout  = 10 * time.Second
	// DefaultDropLogInterval is how often, at most, the messages dropped
	// for one client are logged (see Options.DropLogInterval).
	DefaultDropLogInterval = 10 * time.Second
)

// Errors reported by the hub: returned by Send, and passed to OnDisconnect
// (and returned by Serve) as the reason a client ended.
var (
	// ErrClosed: the client is closing or gone.
	ErrClosed = errors.New("hub: client closed")
	// ErrQueueFull: the client's send queue is full (see Overflow).
	ErrQueueFull = errors.New("hub: send queue full")
	// ErrPongTimeout: the client did not answer a ping within
	// Options.PongTimeout and was terminated.
	ErrPongTimeout = errors.New("hub: no pong within the timeout")
	// ErrShutdown: the hub is shutting down.
	ErrShutdown = errors.New("hub: shutting down")
	// ErrRateLimited: the client went over its rate limit and was closed.
	ErrRateLimited = errors.New("hub: rate limit exceeded")
	// ErrPanic: a callback panicked while handling the client; the
	// panic was recovered and logged.
	ErrPanic = errors.New("hub: handler panicked")
	// ErrDuplicateID: Attach was given an Info.ID that a live client has.
	ErrDuplicateID = errors.New("hub: a client with this ID is connected")
)

// ShutdownReason is the close reason sent with 1001 by Shutdown.
const ShutdownReason = "server shutting down"

// Options configure a Hub. The zero value is ready to use.
type Options struct {
	// OnConnect is called when a client has been registered, before its
	// first message is read.
	OnConnect func(c *Client)

	// OnMessage is called with each message a client sends, on that
	// client's read loop: one client's messages are handled one at a time,
	// in order, while different clients run in parallel. data is valid
	// only until OnMessage returns. A panic is recovered and logged, and
	// the client is closed with 1011 (or answered with PanicReply).
	OnMessage func(c *Client, typ ws.MessageType, data []byte)

	// OnDisconnect is called once a client is gone, with the reason: a
	// *ws.CloseError when the peer closed, one of this package's errors
	// when the hub ended it, or the protocol or I/O error.
	OnDisconnect func(c *Client, err error)

	// QueueSize bounds the messages waiting to be written to one client;
	// zero means DefaultQueueSize (256).
	QueueSize int

	// QueueBytes bounds the payload bytes waiting to be written to one
	// client; zero means DefaultQueueBytes (4 MiB), negative means no
	// bound. A single message larger than the bound is still queued when
	// the queue is empty.
	QueueBytes int64

	// Overflow is the policy for a client whose queue is full; Drop by
	// default.
	Overflow Overflow

	// DropLogInterval rate-limits the Warn records of messages dropped
	// under the Drop policy: a client's first drop is logged at once,
	// with the client's ID and user; the drops that follow are counted
	// and logged together at most once per interval, and the rest when
	// the client is gone, so that the counts of a client's records add up
	// to Client.Dropped. Zero means DefaultDropLogInterval (10 s);
	// negative disables the records (Stats.Dropped still counts).
	DropLogInterval time.Duration

	// OverflowCode is the close code CloseSlow sends: 1013 (try again
	// later, the default) or 1008 (policy violation).
	OverflowCode ws.CloseCode

	// WriteTimeout bounds the writing of each message to a client; a write
	// that takes longer closes the connection. Zero means no bound: a
	// client that stops reading is then found by the heartbeat or the
	// overflow policy.
	WriteTimeout time.Duration

	// PingInterval is how often each client is pinged; zero means
	// DefaultPingInterval (30 s), negative disables the heartbeat.
	PingInterval time.Duration

	// PongTimeout is how long a client has to answer a ping; zero means
	// DefaultPongTimeout (10 s). A client that does not answer in time
	// is terminated: its TCP connection is closed without a close frame
	// (it shows as 1006 to the peer, if the peer is alive at all), since
	// a peer that does not read would never see one, and it leaves the
	// hub with ErrPongTimeout.
	PongTimeout time.Duration

	// RateLimit, if set, is consulted before each message is handled,
	// keyed by the client's ID, or by its user with RateLimitPerUser. A
	// message over the limit is not handled: the client is answered with
	// RateLimitReply, or closed with 1008 (policy violation) if
	// RateLimitClose is set.
	RateLimit *ratelimit.Limiter
	// RateLimitPerUser keys the limit by Client.User, so that one user's
	// connections share a budget; anonymous clients are keyed by ID.
	RateLimitPerUser bool
	// RateLimitClose closes a client over the limit instead of answering.
	RateLimitClose bool
	// RateLimitReply is the text message sent to a client over the limit;
	// nil means an error event of package event with code
	// "rate_limited" which, like the event package's other error events,
	// names the type of the event refused and echoes its id, when the
	// message was an event envelope.
	RateLimitReply []byte

	// PanicReply, if set, is the text message sent to a client whose
	// OnMessage panicked, instead of closing it with 1011.
	PanicReply []byte

	// Logger receives the hub's log records: connects and disconnects at
	// Debug, messages dropped for a slow client (see DropLogInterval) and
	// clients ended for being slow, dead or over their limit at Warn, recovered panics at Error, the start and end of a broker
	// outage at Warn and Info. Nil means slog.Default().
	Logger *slog.Logger

	// Broker, if set, carries broadcasts to and from the other servers
	// of a cluster: Broadcast, Namespace.Broadcast, Room.Broadcast and
	// SendToUser reach the clients in their scope on every server that
	// shares the broker, each exactly once. Nil means a single server:
	// broadcasts reach this hub's clients only, and nothing is published.
	// See Broker.
	Broker Broker

	// ServerID identifies this hub in the messages it publishes, so that
	// it can tell its own publications from the others'; it must be
	// unique among the servers sharing a broker. Empty means a random ID.
	ServerID string

	// BrokerQueueSize bounds the broadcasts waiting to be published to
	// the broker; zero means DefaultBrokerQueueSize (4096). When the
	// queue is full, a broadcast still reaches the local clients but not
	// the other servers, and is counted in Stats.BrokerDropped.
	BrokerQueueSize int

	// BrokerTimeout bounds each Broker.Publish; zero means
	// DefaultBrokerTimeout (5 s).
	BrokerTimeout time.Duration

	// BrokerPayload, if set, turns what another server published
	// (Message.Type and Message.Data, the Data of its Payload) back into
	// the Payload its clients' transports send, once per message for all
	// local receivers: a protocol layer whose payloads are not WebSocket
	// messages (package socketio's packets) decodes its own. An error
	// drops the message (counted as invalid). Nil means
	// ws.NewPreparedMessage.
	BrokerPayload func(typ ws.MessageType, data []byte) (Payload, error)

	// ClientRooms makes each client a member of a room named by its ID,
	// within its namespace, as every Socket.IO socket is: Room(id) and a
	// Target naming id reach that client. Such rooms are not listed by
	// Namespace.Rooms or Client.Rooms.
	ClientRooms bool
}

// Info describes a connection being added to a hub.
type Info struct {
	// User is the identity of the user behind the connection, such as
	// the subject of an auth.Identity; "" for anonymous. One user may
	// have many connections.
	User string
	// Namespace is the namespace the client belongs to; "" is the
	// default one. Rooms belong to namespaces.
	Namespace string
	// Data is application data attached to the client, such as the
	// auth.Identity or a session. Client.Data returns it.
	Data any
	// ID is the client's ID; empty means a new random one. A protocol
	// layer that keeps IDs across reconnections (Socket.IO's connection
	// state recovery) sets it; it must be unpredictable and unique among
	// the hub's live clients.
	ID string
}

// Hub is the registry of a server's live connections: it runs each
// connection's read loop, writer and heartbeat, and sends to all, to
// namespaces, rooms and users. It is safe for concurrent use.
type Hub struct {
	opts      Options
	log       *slog.Logger
	rateReply *ws.PreparedMessage // the reply to a message over the limit that is not an event
	rateEvent bool                // Options.RateLimitReply was nil: answer events with their type and id
	panicMsg  *ws.PreparedMessage

	mu         sync.RWMutex
	n          int // live clients
	users      map[string]map[*Client]struct{}
	namespaces map[string]*nsState
	closing    bool
	wg         sync.WaitGroup // one per running Serve

	m metrics

	id string // ServerID
	// brokerPayload is Options.BrokerPayload.
	brokerPayload func(typ ws.MessageType, data []byte) (Payload, error)
	broker        Broker
	out           outbox
	brokerDown    atomic.Bool // a publication failed and none succeeded since
	subMu         sync.Mutex
	unsubscribe   func() // ends the broker subscription; guarded by subMu
}

// nsState holds a namespace's members and rooms; guarded by Hub.mu. The
// hub's clients are its namespaces' clients: one map entry per client,
// found by ID in its namespace (a lookup by ID alone goes through the
// namespaces, usually one or a few).
type nsState struct {
	clients map[string]*Client // by ID
	rooms   map[string]map[*Client]struct{}
}

// New returns a Hub. opts may be nil.
func New(opts *Options) *Hub {
	h := &Hub{
		users:      make(map[string]map[*Client]struct{}),
		namespaces: make(map[string]*nsState),
	}
	if opts != nil {
		h.opts = *opts
	}
	o := &h.opts
	if o.QueueSize <= 0 {
		o.QueueSize = DefaultQueueSize
	}
	if o.QueueBytes == 0 {
		o.QueueBytes = DefaultQueueBytes
	}
	if o.OverflowCode == 0 {
		o.OverflowCode = ws.CloseTryAgainLater
	}
	if o.PingInterval == 0 {
		o.PingInterval = DefaultPingInterval
	}
	if o.PongTimeout <= 0 {
		o.PongTimeout = DefaultPongTimeout
	}
	if o.DropLogInterval == 0 {
		o.DropLogInterval = DefaultDropLogInterval
	}
	if o.RateLimitReply == nil {
		h.rateEvent = true
		o.RateLimitReply = []byte(`{"type":"error","payload":{"code":"rate_limited","message":"rate limit exceeded"}}`)
	}
	h.rateReply, _ = ws.NewPreparedMessage(ws.Text, o.RateLimitReply)
	if o.PanicReply != nil {
		h.panicMsg, _ = ws.NewPreparedMessage(ws.Text, o.PanicReply)
	}
	h.log = o.Logger
	if h.log == nil {
		h.log = slog.Default()
	}
	if o.BrokerQueueSize <= 0 {
		o.BrokerQueueSize = DefaultBrokerQueueSize
	}
	if o.BrokerTimeout <= 0 {
		o.BrokerTimeout = DefaultBrokerTimeout
	}
	h.id = o.ServerID
	h.brokerPayload = o.BrokerPayload
	if h.id == "" {
		h.id = newID()
	}
	if o.Broker != nil {
		h.broker = o.Broker
		unsub, err := o.Broker.Subscribe(h.receive)
		if err != nil {
			h.log.Error("hub: broker subscription failed; this server will not receive the others' broadcasts", "server", h.id, "err", err)
		}
		h.unsubscribe = unsub
	}
	return h
}

// Serve adds conn to the hub as a new Client and runs it: its read loop on
// the calling goroutine, dispatching to OnMessage, with a writer and a
// heartbeat goroutine beside it. It returns when the connection has ended
// and every goroutine of the client is gone, with the reason it ended (as
// passed to OnDisconnect). ctx is the client's context's parent; if it
// ends, the connection is closed at once.
//
// A hub that is shutting down refuses the connection: it closes it with
// 1001 and Serve returns ErrShutdown.
//
// With server.Server, Serve is the whole handler:
//
//	srv := &server.Server{Handle: func(c *ws.Conn, r *http.Request) {
//		h.Serve(r.Context(), c, hub.Info{User: userOf(r)})
//	}}
func (h *Hub) Serve(ctx context.Context, conn *ws.Conn, info Info) error {
	t := newWSConn(conn, h.opts.QueueSize)
	c := h.newClient(ctx, t, info)
	t.c = c
	c.flags.Or(flagDetached) // Serve removes it itself; Detach does nothing
	if err := h.add(c); err != nil {
		c.endContext()
		conn.Close(ws.CloseGoingAway, ShutdownReason)
		return err
	}
	defer h.wg.Done()
	h.m.connections.Add(1)
	h.m.accepted.Add(1)
	c.start()
	h.log.Debug("hub: client connected", "id", c.id, "user", c.user, "namespace", c.ns, "remote", conn.RemoteAddr())
	if h.opts.OnConnect != nil {
		h.guard(c, "OnConnect", func() { h.opts.OnConnect(c) })
	}
	err := conn.Serve(c.Context(), ws.Handler{OnMessage: c.onMessage})

	c.end()
	h.remove(c)
	conn.CloseNow()
	t.wg.Wait()
	h.m.connections.Add(-1)
	if r := c.reason(); r != nil {
		err = r
	}
	h.finish(c, err)
	return err
}

// finish accounts for a client gone with err and runs OnDisconnect.
func (h *Hub) finish(c *Client, err error) {
	var ce *ws.CloseError
	if err != nil && !errors.As(err, &ce) && !errors.Is(err, ErrShutdown) {
		h.m.errors.Add(1)
	}
	if h.opts.RateLimit != nil && !h.opts.RateLimitPerUser {
		h.opts.RateLimit.Forget(c.id)
	}
	if m := c.more.Load(); m != nil {
		m.drops.end(c)
	}
	h.log.Debug("hub: client disconnected", "id", c.id, "user", c.user, "reason", err)
	if h.opts.OnDisconnect != nil {
		h.guard(c, "OnDisconnect", func() { h.opts.OnDisconnect(c, err) })
	}
}

// guard runs fn, recovering and logging a panic; the client is closed with
// 1011 unless it is gone already.
func (h *Hub) guard(c *Client, where string, fn func()) {
	defer func() {
		if v := recover(); v != nil {
			h.recovered(c, where, v)
			c.closeWith(ErrPanic, ws.CloseInternalError, "internal error", true)
		}
	}()
	fn()
}

// newClient makes a client sending through t; it is not registered yet.
func (h *Hub) newClient(ctx context.Context, t Transport, info Info) *Client {
	c := &Client{
		hub:  h,
		t:    t,
		id:   info.ID,
		user: info.User,
		ns:   info.Namespace,
		data: info.Data,
	}
	if c.id == "" {
		c.id = newID()
	}
	if ctx != context.Background() {
		m := new(clientMore)
		m.ctx, m.cancel = context.WithCancel(ctx)
		c.more.Store(m)
	}
	return c
}

// newID returns an unpredictable client ID: 96 random bits, base64url.
func newID() string {
	var b [12]byte
	crand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// add registers c, unless the hub is shutting down (ErrShutdown) or a
// client with its ID is live (ErrDuplicateID).
func (h *Hub) add(c *Client) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closing {
		return ErrShutdown
	}
	if h.clientLocked(c.id) != nil {
		return ErrDuplicateID
	}
	h.wg.Add(1)
	h.n++
	if c.user != "" {
		set := h.users[c.user]
		if set == nil {
			set = make(map[*Client]struct{})
			h.users[c.user] = set
		}
		set[c] = struct{}{}
	}
	ns := h.nsLocked(c.ns, true)
	ns.clients[c.id] = c
	return nil
}

// clientLocked returns the live client with the given ID, or nil; h.mu
// must be held.
func (h *Hub) clientLocked(id string) *Client {
	for _, ns := range h.namespaces {
		if c := ns.clients[id]; c != nil {
			return c
		}
	}
	return nil
}

// remove unregisters c from the hub, its user, namespace and rooms.
func (h *Hub) remove(c *Client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if set := h.users[c.user]; set != nil {
		delete(set, c)
		if len(set) == 0 {
			delete(h.users, c.user)
		}
	}
	ns := h.namespaces[c.ns]
	if ns == nil {
		return
	}
	for room := range c.rooms {
		h.leaveLocked(ns, room, c)
	}
	c.rooms = nil
	if ns.clients[c.id] == c {
		delete(ns.clients, c.id)
		h.n--
	}
	if len(ns.clients) == 0 && len(ns.rooms) == 0 {
		delete(h.namespaces, c.ns)
	}
}

// nsLocked returns a namespace's state, creating it if create is set; h.mu
// must be held (for writing, if create is set).
func (h *Hub) nsLocked(name string, create bool) *nsState {
	ns := h.namespaces[name]
	if ns == nil && create {
		ns = &nsState{clients: make(map[string]*Client), rooms: make(map[string]map[*Client]struct{})}
		h.namespaces[name] = ns
	}
	return ns
}

// Len returns the number of live clients.
func (h *Hub) Len() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.n
}

// Client returns the live client with the given ID, or nil.
func (h *Hub) Client(id string) *Client {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.clientLocked(id)
}

// Clients returns the live clients, in no particular order.
func (h *Hub) Clients() []*Client {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.clientsLocked()
}

// clientsLocked returns the live clients; h.mu must be held.
func (h *Hub) clientsLocked() []*Client {
	cs := make([]*Client, 0, h.n)
	for _, ns := range h.namespaces {
		for _, c := range ns.clients {
			cs = append(cs, c)
		}
	}
	return cs
}

// UserClients returns the live clients of a user, in no particular order.
func (h *Hub) UserClients(user string) []*Client {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return slices.Collect(maps.Keys(h.users[user]))
}

// Broadcast queues pm for every live client except those listed, in every
// namespace, and returns how many clients it was queued for. It never
// blocks on a client: a full queue is handled by the Overflow policy.
// With a Broker, pm is also published for every client of the other
// servers; the count is this server's.
//
//	h.Broadcast(pm)         // everyone
//	h.Broadcast(pm, sender) // everyone but the sender
func (h *Hub) Broadcast(pm *ws.PreparedMessage, except ...*Client) int {
	n := h.broadcastLocal(pm, except)
	if h.broker != nil { // building the message costs an allocation
		h.publish(&Message{Scope: ScopeAll, Type: pm.Type(), Data: pm.Data()})
	}
	return n
}

// broadcastLocal queues pm for this hub's clients not in except.
func (h *Hub) broadcastLocal(pm Payload, except []*Client) int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	n := 0
	for _, ns := range h.namespaces {
		n += sendTo(maps.Values(ns.clients), pm, except)
	}
	return n
}

// SendToUser queues pm for every connection of a user, and returns how many
// it was queued for. With a Broker, pm also goes to the user's connections
// on the other servers; the count is this server's.
func (h *Hub) SendToUser(user string, pm *ws.PreparedMessage) int {
	n := h.sendToUserLocal(user, pm)
	if h.broker != nil { // building the message costs an allocation
		h.publish(&Message{Scope: ScopeUser, User: user, Type: pm.Type(), Data: pm.Data()})
	}
	return n
}

// sendToUserLocal queues pm for this hub's connections of user.
func (h *Hub) sendToUserLocal(user string, pm Payload) int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return sendTo(maps.Keys(h.users[user]), pm, nil)
}

// Shutdown stops accepting clients (Serve refuses new ones), closes every
// client with 1001 (going away) and the reason "server shutting down",
// and waits for them to be gone. If ctx ends first, the remaining
// connections are closed at once, without waiting for their close
// handshake, and ctx's error is returned.
//
// With server.Server, its Shutdown does the same to the connections it
// accepted, and also answers new requests with 503; the hub's clients end
// with their connections. Hub.Shutdown is for connections accepted some
// other way, and harmless to call as well.
func (h *Hub) Shutdown(ctx context.Context) error {
	h.mu.Lock()
	h.closing = true
	cs := h.clientsLocked()
	h.mu.Unlock()
	h.log.Info("hub: shutting down", "clients", len(cs))
	for _, c := range cs {
		c.closeWith(ErrShutdown, ws.CloseGoingAway, ShutdownReason, false)
	}
	h.stopBroker(ctx)
	done := make(chan struct{})
	go func() {
		h.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	for _, c := range h.Clients() {
		c.t.CloseNow()
	}
	return ctx.Err()
}

// rateLimitReply returns the answer to a message over the rate limit.
func (h *Hub) rateLimitReply(typ ws.MessageType, data []byte) *ws.PreparedMessage {
	if !h.rateEvent || typ != ws.Text {
		return h.rateReply
	}
	e, err := event.Parse(data)
	if err != nil {
		return h.rateReply
	}
	pm, err := event.Prepare("error", &event.Error{Code: event.CodeRateLimited, Message: "rate limit exceeded", Type: e.Type, ID: e.ID})
	if err != nil {
		return h.rateReply
	}
	return pm
}

// recovered logs a recovered panic.
func (h *Hub) recovered(c *Client, where string, v any) {
	h.m.panics.Add(1)
	h.log.Error("hub: recovered a panic", "in", where, "id", c.id, "user", c.user, "panic", v, "stack", stack())
}

func excluded(c *Client, except []*Client) bool {
	for _, e := range except {
		if c == e {
			return true
		}
	}
	return false
}

// sendTo queues pm for the clients of cs not in except: the members of a
// set (maps.Keys) or a namespace's clients (maps.Values).
func sendTo(cs iter.Seq[*Client], pm Payload, except []*Client) int {
	n := 0
	for c := range cs {
		if !excluded(c, except) && c.enqueue(pm) == nil {
			n++
		}
	}
	return n
}
