package socketio

// Socket.IO across servers (owner: helper "sioc"): broadcasts travel through
// the hub's Broker (natsbroker.Broker, hub.MemoryBroker, ...), each packet
// carried in its long-polling form and decoded once per receiving server;
// the cluster requests of the reference's ClusterAdapter (sockets join and
// leave rooms, disconnect sockets, fetch sockets, server-side emits with
// acknowledgements) and node heartbeats travel on the same broker as
// messages of a reserved namespace, which the servers intercept before
// their hubs see them.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/engineio"
	"github.com/rfc6455/ws/hub"
)

// Defaults of the ClusterOptions fields left zero: the reference
// ClusterAdapterWithHeartbeat's.
const (
	DefaultHeartbeatInterval = 5 * time.Second
	DefaultHeartbeatTimeout  = 10 * time.Second
	DefaultRequestTimeout    = 5 * time.Second
)

// ClusterOptions tune the cluster protocol of a server with a Broker.
type ClusterOptions struct {
	// HeartbeatInterval is how often the server tells the others it is
	// alive; zero means DefaultHeartbeatInterval.
	HeartbeatInterval time.Duration
	// HeartbeatTimeout is how long a server may stay silent before the
	// others consider it gone: requests stop waiting for its answer.
	// Zero means DefaultHeartbeatTimeout.
	HeartbeatTimeout time.Duration
	// RequestTimeout bounds a request that waits for every server's
	// answer (FetchAllSockets, ServerSideEmitWithAck) when its context
	// has no deadline; zero means DefaultRequestTimeout.
	RequestTimeout time.Duration
}

// clusterNamespace is the hub namespace of the cluster's own messages.
// No Socket.IO namespace can have this name (they start with "/").
const clusterNamespace = "socket.io#cluster"

// ErrClusterTimeout is the error (errors.Is) of a cluster request that some
// server did not answer in time; the answers received come with it.
var ErrClusterTimeout = errors.New("socketio: cluster request timed out")

// Cluster message types.
const (
	cmInitialHeartbeat = "initial-heartbeat"
	cmHeartbeat        = "heartbeat"
	cmClose            = "close"
	cmJoin             = "sockets-join"
	cmLeave            = "sockets-leave"
	cmDisconnect       = "disconnect-sockets"
	cmFetch            = "fetch-sockets"
	cmFetchResponse    = "fetch-sockets-response"
	cmEmit             = "server-side-emit"
	cmEmitResponse     = "server-side-emit-response"
)

// clusterMessage is what the servers of a cluster tell each other.
type clusterMessage struct {
	Type   string   `json:"type"`
	UID    string   `json:"uid"`          // the sender
	To     string   `json:"to,omitempty"` // a response's requester
	Req    string   `json:"req,omitempty"`
	Nsp    string   `json:"nsp,omitempty"`
	Rooms  []string `json:"rooms,omitempty"`  // selected: in any of these
	Except []string `json:"except,omitempty"` // ... and in none of these
	Arg    []string `json:"arg,omitempty"`    // rooms to join or leave
	Close  bool     `json:"close,omitempty"`
	// Server-side emits: the event, its arguments as a JSON array with
	// placeholders, and the attachments.
	Event   string          `json:"event,omitempty"`
	Args    json.RawMessage `json:"args,omitempty"`
	Bins    [][]byte        `json:"bins,omitempty"`
	WantAck bool            `json:"ack,omitempty"`
	Error   string          `json:"error,omitempty"`
	Sockets []RemoteSocket  `json:"sockets,omitempty"`
}

// RemoteSocket describes a socket of any server of the cluster, as
// FetchAllSockets returns them.
type RemoteSocket struct {
	ID        string          `json:"id"`
	Server    string          `json:"server"` // the ServerID of the server it is connected to
	Namespace string          `json:"nsp"`
	Rooms     []string        `json:"rooms"`
	Data      json.RawMessage `json:"data,omitempty"` // Socket.Data, as JSON
	Handshake Handshake       `json:"handshake"`
}

// cluster is a server's membership of a cluster.
type cluster struct {
	srv    *Server
	broker hub.Broker
	uid    string
	opts   ClusterOptions

	pubMu sync.Mutex // one publication at a time, in order

	mu       sync.Mutex
	nodes    map[string]time.Time // other servers → last heard from
	requests map[string]*clusterRequest
	handlers map[string]serverEventFunc
	inbox    []*clusterMessage
	working  bool
	stopped  bool
	stop     chan struct{}
	done     chan struct{}
}

// serverEventFunc handles a server-side emit: it returns the arguments of
// the acknowledgement.
type serverEventFunc func(ctx context.Context, args Args) ([]any, error)

// clusterRequest waits for the answers of every other server.
type clusterRequest struct {
	missing map[string]bool
	answers []*clusterMessage
	done    chan struct{}
	closed  bool
}

// clusterBroker is the Broker the hub sees: the cluster's messages are
// taken out before they reach it.
type clusterBroker struct {
	hub.Broker
	c *cluster
}

func (b clusterBroker) Subscribe(handle func(*hub.Message)) (func(), error) {
	return b.Broker.Subscribe(func(m *hub.Message) {
		if m.Scope == hub.ScopeNamespace && m.Namespace == clusterNamespace {
			b.c.receive(m)
			return
		}
		handle(m)
	})
}

func newCluster(srv *Server, b hub.Broker, uid string, o *ClusterOptions) *cluster {
	c := &cluster{
		srv: srv, broker: b, uid: uid,
		nodes:    map[string]time.Time{},
		requests: map[string]*clusterRequest{},
		handlers: map[string]serverEventFunc{},
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	if o != nil {
		c.opts = *o
	}
	if c.opts.HeartbeatInterval <= 0 {
		c.opts.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if c.opts.HeartbeatTimeout <= 0 {
		c.opts.HeartbeatTimeout = DefaultHeartbeatTimeout
	}
	if c.opts.RequestTimeout <= 0 {
		c.opts.RequestTimeout = DefaultRequestTimeout
	}
	return c
}

// start announces the server and starts its heartbeat.
func (c *cluster) start() {
	c.publish(&clusterMessage{Type: cmInitialHeartbeat})
	go c.heartbeat()
}

func (c *cluster) heartbeat() {
	defer close(c.done)
	t := time.NewTicker(c.opts.HeartbeatInterval)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			c.publish(&clusterMessage{Type: cmHeartbeat})
			c.reap()
		}
	}
}

// reap forgets the servers not heard from within HeartbeatTimeout; the
// requests waiting for them stop waiting.
func (c *cluster) reap() {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	for uid, seen := range c.nodes {
		if now.Sub(seen) > c.opts.HeartbeatTimeout {
			c.srv.log.Warn("socketio: a server of the cluster went silent", "server", uid)
			c.forgetLocked(uid)
		}
	}
}

// forgetLocked removes a server; mu held.
func (c *cluster) forgetLocked(uid string) {
	delete(c.nodes, uid)
	for _, r := range c.requests {
		if r.missing[uid] {
			delete(r.missing, uid)
			r.check()
		}
	}
}

func (r *clusterRequest) check() {
	if len(r.missing) == 0 && !r.closed {
		r.closed = true
		close(r.done)
	}
}

// shutdown tells the others this server leaves, and stops.
func (c *cluster) shutdown() {
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return
	}
	c.stopped = true
	c.mu.Unlock()
	c.publish(&clusterMessage{Type: cmClose})
	close(c.stop)
	<-c.done
}

// publish sends a cluster message to every server.
func (c *cluster) publish(m *clusterMessage) error {
	m.UID = c.uid
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	c.pubMu.Lock()
	defer c.pubMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), hub.DefaultBrokerTimeout)
	defer cancel()
	err = c.broker.Publish(ctx, &hub.Message{Origin: c.uid, Scope: hub.ScopeNamespace, Namespace: clusterNamespace, Type: ws.Text, Data: data})
	if err != nil {
		c.srv.log.Warn("socketio: cluster message not published", "type", m.Type, "err", err)
	}
	return err
}

// receive takes a cluster message from the broker; it must not block, so
// the message waits in the inbox for the cluster's worker.
func (c *cluster) receive(hm *hub.Message) {
	if hm.Origin == c.uid {
		return
	}
	var m clusterMessage
	if err := json.Unmarshal(hm.Data, &m); err != nil || m.UID == "" || m.UID == c.uid {
		c.srv.log.Debug("socketio: invalid cluster message dropped", "err", err)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return
	}
	if m.Type != cmClose {
		c.nodes[m.UID] = time.Now()
	}
	c.inbox = append(c.inbox, &m)
	if !c.working {
		c.working = true
		go c.work()
	}
}

func (c *cluster) work() {
	for {
		c.mu.Lock()
		if len(c.inbox) == 0 {
			c.working = false
			c.mu.Unlock()
			return
		}
		m := c.inbox[0]
		c.inbox[0] = nil
		c.inbox = c.inbox[1:]
		c.mu.Unlock()
		c.handle(m)
	}
}

// handle acts on one message of another server.
func (c *cluster) handle(m *clusterMessage) {
	switch m.Type {
	case cmInitialHeartbeat:
		// A new server: tell it we are here.
		c.publish(&clusterMessage{Type: cmHeartbeat})
	case cmHeartbeat:
	case cmClose:
		c.mu.Lock()
		c.forgetLocked(m.UID)
		c.mu.Unlock()
	case cmJoin, cmLeave, cmDisconnect:
		o := c.operator(m)
		if o.ns == nil {
			return
		}
		switch m.Type {
		case cmJoin:
			o.local().SocketsJoin(m.Arg...)
		case cmLeave:
			o.local().SocketsLeave(m.Arg...)
		case cmDisconnect:
			o.local().DisconnectSockets(m.Close)
		}
	case cmFetch:
		resp := &clusterMessage{Type: cmFetchResponse, To: m.UID, Req: m.Req}
		if o := c.operator(m); o.ns != nil {
			resp.Sockets = o.localSockets()
		}
		c.publish(resp)
	case cmEmit:
		c.mu.Lock()
		fn := c.handlers[m.Event]
		c.mu.Unlock()
		var ack []any
		var err error
		if fn != nil {
			ctx, cancel := context.WithTimeout(context.Background(), c.opts.RequestTimeout)
			ack, err = fn(ctx, argsOf(m.Args, 0, m.Bins))
			cancel()
		}
		if !m.WantAck {
			return
		}
		resp := &clusterMessage{Type: cmEmitResponse, To: m.UID, Req: m.Req}
		if fn == nil {
			err = fmt.Errorf("no handler for %q", m.Event)
		}
		if err != nil {
			resp.Error = err.Error()
		} else {
			var e encoder
			e.open()
			if err := e.args(ack); err != nil {
				resp.Error = err.Error()
			} else {
				e.close()
				resp.Args, resp.Bins = e.buf, e.bins
			}
		}
		c.publish(resp)
	case cmFetchResponse, cmEmitResponse:
		if m.To != c.uid {
			return
		}
		c.mu.Lock()
		if r := c.requests[m.Req]; r != nil && r.missing[m.UID] {
			delete(r.missing, m.UID)
			r.answers = append(r.answers, m)
			r.check()
		}
		c.mu.Unlock()
	}
}

// operator rebuilds the selection of a request on this server.
func (c *cluster) operator(m *clusterMessage) Operator {
	ns := c.srv.lookupNamespace(m.Nsp)
	if ns == nil {
		return Operator{}
	}
	return Operator{ns: ns, rooms: m.Rooms, except: m.Except}
}

// request publishes m to every other server and waits for each one's
// answer, until ctx ends (or RequestTimeout, without a deadline).
func (c *cluster) request(ctx context.Context, m *clusterMessage) ([]*clusterMessage, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.opts.RequestTimeout)
		defer cancel()
	}
	m.Req = newRequestID()
	r := &clusterRequest{missing: map[string]bool{}, done: make(chan struct{})}
	c.mu.Lock()
	for uid := range c.nodes {
		r.missing[uid] = true
	}
	expected := len(r.missing)
	c.requests[m.Req] = r
	r.check()
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.requests, m.Req)
		c.mu.Unlock()
	}()
	if expected > 0 {
		if err := c.publish(m); err != nil {
			return nil, err
		}
	}
	select {
	case <-r.done:
		c.mu.Lock()
		defer c.mu.Unlock()
		return r.answers, nil
	case <-ctx.Done():
		c.mu.Lock()
		defer c.mu.Unlock()
		return r.answers, fmt.Errorf("%w: %d of %d servers answered: %w", ErrClusterTimeout, len(r.answers), expected, ctx.Err())
	}
}

func newRequestID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Servers returns the ServerIDs of the other servers of the cluster that
// this one has heard from within the heartbeat timeout.
func (srv *Server) Servers() []string {
	c := srv.cluster
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, 0, len(c.nodes))
	for uid := range c.nodes {
		out = append(out, uid)
	}
	slices.Sort(out)
	return out
}

// ServerID returns the server's id in its cluster (Options.ServerID, or a
// random one).
func (srv *Server) ServerID() string { return srv.hub.ServerID() }

// local returns o marked to act on this server only.
func (o Operator) local() Operator {
	o.localOnly = true
	return o
}

// broadcastRequest tells the other servers to apply a join, leave or
// disconnect to their sockets selected by o.
func (o Operator) broadcastRequest(m *clusterMessage) {
	c := o.ns.srv.cluster
	if c == nil || o.localOnly {
		return
	}
	m.Nsp, m.Rooms, m.Except = o.ns.name, o.rooms, o.except
	c.publish(m)
}

// localSockets describes the selected sockets of this server.
func (o Operator) localSockets() []RemoteSocket {
	var out []RemoteSocket
	uid := o.ns.srv.ServerID()
	for _, s := range o.FetchSockets() {
		rs := RemoteSocket{ID: s.ID(), Server: uid, Namespace: s.ns.name, Rooms: s.Rooms(), Handshake: s.Handshake()}
		if d := s.Data(); d != nil {
			rs.Data, _ = json.Marshal(d)
		}
		out = append(out, rs)
	}
	return out
}

// FetchAllSockets returns the selected sockets of every server of the
// cluster (this one's included), as the reference's fetchSockets does
// with a cluster adapter: it asks every server it knows and waits for each
// one's answer until ctx ends (or ClusterOptions.RequestTimeout when ctx
// has no deadline); a server that went silent is not waited for. When some
// server did not answer in time, the error wraps ErrClusterTimeout and the
// sockets received come with it. Without a Broker, it is the local
// sockets.
func (o Operator) FetchAllSockets(ctx context.Context) ([]RemoteSocket, error) {
	var out []RemoteSocket
	for _, ns := range o.namespaces() {
		p := o
		p.ns = ns
		out = append(out, p.localSockets()...)
	}
	c := o.ns.srv.cluster
	if c == nil {
		return out, nil
	}
	answers, err := c.request(ctx, &clusterMessage{Type: cmFetch, Nsp: o.ns.name, Rooms: o.rooms, Except: o.except})
	for _, a := range answers {
		out = append(out, a.Sockets...)
	}
	return out, err
}

// ServerSideEmit sends an event to the other servers of the cluster
// (the reference's serverSideEmit), whose handlers registered with
// OnServerSideEmit receive it. Arguments are encoded as Emit's.
func (srv *Server) ServerSideEmit(event string, args ...any) error {
	_, err := srv.serverSideEmit(context.Background(), event, args, false)
	return err
}

// ServerSideEmitWithAck sends an event to the other servers and waits for
// every one's acknowledgement (the reference's serverSideEmitWithAck), until
// ctx ends (or ClusterOptions.RequestTimeout without a deadline); a server
// that went silent is not waited for. A server without a handler for the
// event, or whose handler failed, answers with an error, reported in the
// error returned (errors.Join) beside the other answers.
func (srv *Server) ServerSideEmitWithAck(ctx context.Context, event string, args ...any) ([]Args, error) {
	return srv.serverSideEmit(ctx, event, args, true)
}

func (srv *Server) serverSideEmit(ctx context.Context, event string, args []any, ack bool) ([]Args, error) {
	if err := checkName(event); err != nil {
		return nil, err
	}
	c := srv.cluster
	if c == nil {
		return nil, nil
	}
	var e encoder
	e.open()
	if err := e.args(args); err != nil {
		return nil, err
	}
	e.close()
	m := &clusterMessage{Type: cmEmit, Event: event, Args: e.buf, Bins: e.bins, WantAck: ack}
	if !ack {
		return nil, c.publish(m)
	}
	answers, err := c.request(ctx, m)
	var out []Args
	var errs []error
	for _, a := range answers {
		if a.Error != "" {
			errs = append(errs, fmt.Errorf("socketio: server %s: %s", a.UID, a.Error))
			continue
		}
		out = append(out, argsOf(a.Args, 0, a.Bins))
	}
	return out, errors.Join(append(errs, err)...)
}

// OnServerSideEmit registers fn as the handler of the server-side event
// (ServerSideEmit from another server of the cluster): fn receives the
// event's first argument decoded into T, as On does, and its result is the
// acknowledgement's argument when the sender asked for one. ctx ends after
// ClusterOptions.RequestTimeout. Registering nil removes the handler.
func OnServerSideEmit[T, R any](srv *Server, event string, fn func(ctx context.Context, arg T) (R, error)) {
	if srv.cluster == nil {
		return
	}
	c := srv.cluster
	c.mu.Lock()
	defer c.mu.Unlock()
	if fn == nil {
		delete(c.handlers, event)
		return
	}
	c.handlers[event] = func(ctx context.Context, args Args) ([]any, error) {
		var v T
		if err := decodeArg(args, &v); err != nil {
			return nil, err
		}
		r, err := fn(ctx, v)
		if err != nil {
			return nil, err
		}
		return []any{r}, nil
	}
}

// decodeBrokerPayload turns another server's broadcast (a packet in its
// long-polling form, see payload.Data) back into a payload, once for all
// the local receivers.
func decodeBrokerPayload(typ ws.MessageType, data []byte) (hub.Payload, error) {
	if typ != ws.Text || len(data) == 0 {
		return nil, errors.New("socketio: broker payload is not a Socket.IO packet")
	}
	p := &payload{data: data}
	p.once.Do(func() {}) // data is already the polling form
	for part := range bytes.SplitSeq(data, []byte{0x1e}) {
		if len(part) == 0 {
			return nil, errors.New("socketio: empty part in a broker payload")
		}
		var prep *engineio.Prepared
		var err error
		switch part[0] {
		case '4':
			prep, err = engineio.NewPrepared(ws.Text, part[1:])
			p.size += len(part) - 1
		case 'b':
			var bin []byte
			if bin, err = base64.StdEncoding.AppendDecode(nil, part[1:]); err == nil {
				prep, err = engineio.NewPrepared(ws.Binary, bin)
				p.size += len(bin)
			}
		default:
			err = errors.New("socketio: unknown part in a broker payload")
		}
		if err != nil {
			return nil, err
		}
		p.parts = append(p.parts, prep)
	}
	return p, nil
}

// FetchAllSockets returns the sockets of the main namespace on every
// server of the cluster; see Operator.FetchAllSockets.
func (srv *Server) FetchAllSockets(ctx context.Context) ([]RemoteSocket, error) {
	return srv.main.FetchAllSockets(ctx)
}

// FetchAllSockets returns the namespace's sockets on every server of the
// cluster; see Operator.FetchAllSockets.
func (ns *Namespace) FetchAllSockets(ctx context.Context) ([]RemoteSocket, error) {
	return ns.all().FetchAllSockets(ctx)
}
