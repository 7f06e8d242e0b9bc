package socketio

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"regexp"
	"sync"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/engineio"
	"github.com/rfc6455/ws/hub"
)

// Defaults for Options fields left zero.
const (
	// DefaultConnectTimeout is how long a connection may stay without a
	// namespace before it is closed (the reference's connectTimeout).
	DefaultConnectTimeout = 45 * time.Second
	// DefaultMaxDisconnectionDuration is how long a disconnected socket's
	// state is kept for connection state recovery.
	DefaultMaxDisconnectionDuration = 2 * time.Minute
	// DefaultMaxRetainedPackets bounds the broadcasts a namespace keeps
	// for connection state recovery.
	DefaultMaxRetainedPackets = 1 << 16
	// DefaultMaxQueuedEvents bounds the events waiting for one socket's
	// handlers.
	DefaultMaxQueuedEvents = 256
	// DefaultMaxQueuedBytes bounds the bytes of the events waiting for one
	// socket's handlers.
	DefaultMaxQueuedBytes = 1 << 20
)

// Options configure a Server. The zero value (or a nil *Options) gives the
// reference server's defaults.
type Options struct {
	// EngineIO configures the Engine.IO layer: ping interval and timeout,
	// maxPayload (the reference's maxHttpBufferSize, 1e6 by default),
	// transports, upgrades, CORS, cookies, the WebSocket options. Its
	// Handler is the Server's own and is ignored.
	EngineIO engineio.Options

	// ConnectTimeout closes a connection that has not joined a namespace
	// in that time; zero means DefaultConnectTimeout (45 s).
	ConnectTimeout time.Duration

	// Recovery, if set, turns on connection state recovery (Socket.IO
	// 4.6+): a client that was cut off gets back its socket id, rooms and
	// data, and the broadcasts it missed, in order, if it reconnects
	// within Recovery.MaxDisconnectionDuration.
	Recovery *Recovery

	// CleanupEmptyChildNamespaces deletes a namespace created by a dynamic
	// one (OfFunc, OfRegexp) when its last socket leaves.
	CleanupEmptyChildNamespaces bool

	// MaxAttachments bounds the binary attachments of one packet a client
	// may send; zero means parser.DefaultMaxAttachments (10).
	MaxAttachments int

	// MaxQueuedEvents bounds the events received and waiting for one
	// socket's handlers; zero means DefaultMaxQueuedEvents. When it is
	// reached, the server stops reading the connection until a handler
	// finishes.
	MaxQueuedEvents int

	// MaxQueuedBytes bounds the bytes (payloads and attachments) of the
	// events waiting for one socket's handlers, as MaxQueuedEvents bounds
	// their number; zero means DefaultMaxQueuedBytes (1 MiB). An event
	// larger than the bound is taken when nothing else waits.
	MaxQueuedBytes int

	// DropSlow drops the messages for a client whose outgoing buffer
	// (EngineIO.MaxBufferedAmount) is full, instead of closing its
	// connection, which is the default: a client that reconnects can get
	// the broadcasts it missed back through connection state recovery,
	// while a dropped message is lost.
	DropSlow bool

	// ErrorEvent is the event that tells a client about a handler's error
	// when it did not ask for an acknowledgement; "" means "error", "-"
	// sends nothing.
	ErrorEvent string

	// Broker, if set, makes the server one of a cluster (this module's
	// hub.Broker: natsbroker.Broker over NATS, hub.MemoryBroker within a
	// process): broadcasts reach the selected sockets of every server
	// sharing the broker, each once; Operator.SocketsJoin, SocketsLeave
	// and DisconnectSockets apply on every server; FetchAllSockets and
	// ServerSideEmit ask the others; and the servers exchange heartbeats,
	// so that a server that died is noticed and its answers are no longer
	// waited for. Clients need sticky sessions for long-polling (a load
	// balancer's cookie or source-address affinity). Broadcasts that
	// reached a socket through another server are not retained for
	// connection state recovery.
	Broker hub.Broker

	// ServerID identifies the server in its cluster; empty means a
	// random id. It must be unique among the servers sharing the Broker.
	ServerID string

	// Cluster tunes the cluster protocol; nil means the defaults.
	Cluster *ClusterOptions

	// Logger receives the server's records: connections refused and
	// closed at Debug, handler errors at Warn, recovered panics at Error.
	// Nil means slog.Default().
	Logger *slog.Logger
}

// Recovery configures connection state recovery.
type Recovery struct {
	// MaxDisconnectionDuration is how long a disconnected socket's state
	// and the broadcasts it may miss are kept; zero means
	// DefaultMaxDisconnectionDuration (2 minutes).
	MaxDisconnectionDuration time.Duration
	// MaxRetainedPackets bounds the broadcasts kept per namespace,
	// whatever their age; zero means DefaultMaxRetainedPackets. A client
	// whose last broadcast is older than those kept is not recovered.
	MaxRetainedPackets int
	// RunMiddlewares runs the namespace's middlewares for a recovered
	// socket too; by default they are skipped, as in the reference
	// (skipMiddlewares: true).
	RunMiddlewares bool
}

// Server is a Socket.IO 5 server: an http.Handler to mount at
// "/socket.io/" (the path the clients use by default), serving Engine.IO 4
// over long-polling and WebSocket underneath.
//
//	io := socketio.NewServer(nil)
//	io.OnConnection(func(s *socketio.Socket) { ... })
//	http.Handle("/socket.io/", io)
//
// A Server is also its main namespace, "/": OnConnection, Use, Emit, To,
// and the event handlers registered on it (On, OnAck) are the main
// namespace's.
type Server struct {
	opts Options
	log  *slog.Logger
	eio  *engineio.Server
	hub  *hub.Hub
	main *Namespace

	mu      sync.RWMutex
	nsps    map[string]*Namespace
	parents []*Namespace

	cluster *cluster // with Options.Broker
}

// NewServer returns a server configured by opts (nil means the defaults).
func NewServer(opts *Options) *Server {
	srv := &Server{
		nsps: make(map[string]*Namespace),
	}
	if opts != nil {
		srv.opts = *opts
	}
	o := &srv.opts
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = DefaultConnectTimeout
	}
	if o.MaxQueuedEvents <= 0 {
		o.MaxQueuedEvents = DefaultMaxQueuedEvents
	}
	if o.MaxQueuedBytes <= 0 {
		o.MaxQueuedBytes = DefaultMaxQueuedBytes
	}
	if o.ErrorEvent == "" {
		o.ErrorEvent = "error"
	}
	if r := o.Recovery; r != nil {
		rc := *r
		if rc.MaxDisconnectionDuration <= 0 {
			rc.MaxDisconnectionDuration = DefaultMaxDisconnectionDuration
		}
		if rc.MaxRetainedPackets <= 0 {
			rc.MaxRetainedPackets = DefaultMaxRetainedPackets
		}
		o.Recovery = &rc
	}
	srv.log = o.Logger
	if srv.log == nil {
		srv.log = slog.Default()
	}
	overflow := hub.CloseSlow
	if o.DropSlow {
		overflow = hub.Drop
	}
	hopts := &hub.Options{
		Logger:       srv.log,
		Overflow:     overflow,
		PingInterval: -1, // Engine.IO has a heartbeat of its own
		ClientRooms:  true,
	}
	if o.Broker != nil {
		hopts.ServerID = o.ServerID
		if hopts.ServerID == "" {
			hopts.ServerID = newRequestID()
		}
		srv.cluster = newCluster(srv, o.Broker, hopts.ServerID, o.Cluster)
		hopts.Broker = clusterBroker{o.Broker, srv.cluster}
		hopts.BrokerPayload = decodeBrokerPayload
	}
	srv.hub = hub.New(hopts)
	eopts := o.EngineIO
	eopts.Handler = engineHandler{srv}
	if eopts.Logger == nil {
		eopts.Logger = o.Logger
	}
	srv.eio = engineio.NewServer(&eopts)
	srv.main = srv.Of("/")
	if srv.cluster != nil {
		srv.cluster.start()
	}
	return srv
}

// ServeHTTP serves the Engine.IO requests (polling and WebSocket) of every
// client.
func (srv *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { srv.eio.ServeHTTP(w, r) }

// Shutdown closes every connection (its sockets disconnect with
// ErrServerShutdown, which connection state recovery recovers from) and
// waits for them to end, or for ctx to end.
func (srv *Server) Shutdown(ctx context.Context) error {
	err := srv.eio.Shutdown(ctx)
	if srv.cluster != nil {
		// The other servers stop waiting for this one at once.
		srv.cluster.shutdown()
		srv.hub.Shutdown(ctx)
	}
	return err
}

// lookupNamespace returns the namespace name, nil if there is none.
func (srv *Server) lookupNamespace(name string) *Namespace {
	srv.mu.RLock()
	defer srv.mu.RUnlock()
	return srv.nsps[name]
}

// Engine returns the Engine.IO server underneath.
func (srv *Server) Engine() *engineio.Server { return srv.eio }

// Hub returns the hub holding every socket as a client, for its metrics
// (Hub.Stats, Hub.MetricsHandler). Sockets are its clients, namespaces its
// namespaces, rooms its rooms; send through the Server's API, which
// encodes Socket.IO packets.
func (srv *Server) Hub() *hub.Hub { return srv.hub }

// Of returns the namespace called name ("/chat"; "/" is the main one),
// creating it if needed. A name without a leading slash gets one.
func (srv *Server) Of(name string) *Namespace {
	if name == "" || name[0] != '/' {
		name = "/" + name
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if ns := srv.nsps[name]; ns != nil {
		return ns
	}
	ns := newNamespace(srv, name, nil)
	srv.nsps[name] = ns
	return ns
}

// OfFunc returns a dynamic namespace: a client connecting to a namespace
// that does not exist yet gets one created for it when match accepts its
// name and its CONNECT auth payload. The namespaces it creates (its
// children) share its middlewares, connection handlers and event handlers;
// emitting on it reaches the sockets of all of them. Dynamic namespaces are
// tried in the order they were made; match runs on the connection's reading
// goroutine and must not block.
func (srv *Server) OfFunc(match func(name string, auth json.RawMessage) bool) *Namespace {
	return srv.addParent(newNamespace(srv, "<func>", match))
}

// OfRegexp returns a dynamic namespace (see OfFunc) for the names re
// matches, such as regexp.MustCompile(`^/room-\d+$`).
func (srv *Server) OfRegexp(re *regexp.Regexp) *Namespace {
	ns := newNamespace(srv, re.String(), func(name string, _ json.RawMessage) bool { return re.MatchString(name) })
	return srv.addParent(ns)
}

func (srv *Server) addParent(ns *Namespace) *Namespace {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	srv.parents = append(srv.parents, ns)
	return ns
}

// namespace returns the namespace a client asks for, creating a dynamic
// one's child, or nil when there is none.
func (srv *Server) namespace(name string, auth string) *Namespace {
	srv.mu.RLock()
	ns := srv.nsps[name]
	parents := srv.parents
	srv.mu.RUnlock()
	if ns != nil {
		return ns
	}
	for _, p := range parents {
		if p.match(name, json.RawMessage(auth)) {
			srv.mu.Lock()
			defer srv.mu.Unlock()
			if ns := srv.nsps[name]; ns != nil {
				return ns
			}
			ns := newNamespace(srv, name, nil)
			ns.parent = p
			srv.nsps[name] = ns
			p.mu.Lock()
			p.children = append(p.children, ns)
			p.mu.Unlock()
			return ns
		}
	}
	return nil
}

// removeChild deletes an empty child namespace
// (Options.CleanupEmptyChildNamespaces).
func (srv *Server) removeChild(ns *Namespace) {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if ns.Len() > 0 || srv.nsps[ns.name] != ns {
		return
	}
	delete(srv.nsps, ns.name)
	p := ns.parent
	p.mu.Lock()
	for i, c := range p.children {
		if c == ns {
			p.children = append(p.children[:i], p.children[i+1:]...)
			break
		}
	}
	p.mu.Unlock()
}

// The main namespace's API, on the Server.

func (srv *Server) routes() *routes { return srv.main.routes() }

// OnConnection registers fn to run for each socket that connects to the
// main namespace.
func (srv *Server) OnConnection(fn func(s *Socket)) { srv.main.OnConnection(fn) }

// OnDisconnect registers fn to run when a socket of the main namespace
// disconnects.
func (srv *Server) OnDisconnect(fn func(s *Socket, reason error)) { srv.main.OnDisconnect(fn) }

// Use adds a middleware to the main namespace.
func (srv *Server) Use(mw Middleware) { srv.main.Use(mw) }

// Emit sends an event to every socket of the main namespace.
func (srv *Server) Emit(event string, args ...any) error { return srv.main.Emit(event, args...) }

// To selects the sockets of the main namespace in any of rooms.
func (srv *Server) To(rooms ...string) Operator { return srv.main.To(rooms...) }

// In is To.
func (srv *Server) In(rooms ...string) Operator { return srv.main.To(rooms...) }

// Except selects the sockets of the main namespace in none of rooms.
func (srv *Server) Except(rooms ...string) Operator { return srv.main.Except(rooms...) }

// Volatile selects every socket of the main namespace, for events that may
// be lost (see Operator.Volatile).
func (srv *Server) Volatile() Operator { return srv.main.Volatile() }

// engineHandler connects the Engine.IO sessions to the server: each
// session's conn is its Data (engineio.OpenDataHandler), found without a
// lookup of the server's.
type engineHandler struct{ srv *Server }

// OpenData makes the session's conn.
func (h engineHandler) OpenData(es *engineio.Socket) any { return newConn(h.srv, es) }

// Open is not called: the server calls OpenData instead.
func (h engineHandler) Open(es *engineio.Socket) {}

func (h engineHandler) Message(es *engineio.Socket, typ ws.MessageType, data []byte) {
	if c, _ := es.Data().(*conn); c != nil {
		c.message(typ, data)
	}
}

// Close is called once per session, after its last Message.
func (h engineHandler) Close(es *engineio.Socket, reason error) {
	if c, _ := es.Data().(*conn); c != nil {
		c.closed(reason)
	}
}
