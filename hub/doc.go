// Package hub is what WebSocket servers build on: the registry of live
// connections, broadcast to all, to all but the sender, to namespaces,
// rooms and users, with backpressure, a heartbeat, rate limits, metrics,
// panic recovery and graceful shutdown.
//
// Serve adds a connection to a Hub as a Client and runs it until it ends:
//
//	h := hub.New(&hub.Options{
//		OnMessage: func(c *hub.Client, typ ws.MessageType, data []byte) {
//			pm, _ := ws.NewPreparedMessage(typ, data) // copies data, once
//			c.Namespace().Room("lobby").Broadcast(pm, c) // all but the sender
//		},
//	})
//	srv := &server.Server{Handle: func(c *ws.Conn, r *http.Request) {
//		h.Serve(r.Context(), c, hub.Info{User: userOf(r)})
//	}}
//	http.Handle("/ws", srv)
//	http.Handle("/metrics", h.MetricsHandler(""))
//
// # Broadcast
//
// Broadcasts take a *ws.PreparedMessage, whose frame is encoded once and
// written as is to every receiver. Broadcast, Namespace.Broadcast and
// Room.Broadcast send to everyone in their scope except the clients
// listed; SendToUser reaches every connection of one user. Namespaces
// partition the clients (a client belongs to the one in its Info), and
// rooms, which clients join and leave, live in namespaces.
//
// # Several servers
//
// Behind a load balancer, a room's members may be on different servers.
// Options.Broker joins the hubs of those servers: Broadcast,
// Namespace.Broadcast, Room.Broadcast and SendToUser then reach the clients
// in their scope on every server, each exactly once, text as text and
// binary as binary, one sender's messages in order. A hub delivers to its
// own clients at once and publishes the message, tagged with its ServerID,
// from a bounded queue (Options.BrokerQueueSize); every other hub delivers
// it to its own clients, and a hub ignores its own publications. Room
// membership stays local to each server, and the counts the broadcasts
// return are this server's. The clients listed as exceptions (such as the
// sender) are this server's clients, so they are excluded everywhere.
//
// A broker that fails or stalls never blocks local delivery: the
// broadcasts the other servers missed are counted in Stats (BrokerFailed,
// BrokerDropped, BrokerOutages), and the start and end of an outage are
// logged. Without a broker (the default) a hub is a single server and
// publishes nothing. Package github.com/rfc6455/ws/natsbroker, a module of
// its own, is a Broker over NATS; NewMemoryBroker joins hubs within one
// process.
//
// # Backpressure
//
// Sending never blocks the sender. Each client that Serve runs has a
// bounded queue (Options.QueueSize messages, 256 by default, and
// Options.QueueBytes bytes, 4 MiB) and
// a writer goroutine of its own, so one slow reader never delays the
// others; an attached client's transport keeps a bounded queue of its own.
// Client.BufferedAmount reports the bytes not yet written, like the
// browser's bufferedAmount. When a queue is full, Options.Overflow decides:
// Drop, the default, drops the message for that client, counts it and logs
// it at Warn with the client's ID and the count (rate-limited per client:
// Options.DropLogInterval); CloseSlow closes the client with 1013 (try again
// later) or, if configured, 1008.
//
// # Other transports
//
// A client need not be a *ws.Conn that Serve runs. Attach adds a client
// whose connection is any Transport — an Engine.IO session (package
// socketio's sockets, over WebSocket or long-polling, switching mid-session),
// an event-loop connection — that keeps its own bounded queue: the hub hands
// it payloads without blocking, applies the Overflow policy when it reports
// ErrQueueFull, and starts no goroutine for it, so an idle attached client
// costs its Client and nothing else. Its owner reads the connection, passes
// messages to Client.Receive and calls Client.Detach when it ends.
// Broadcasts take any Payload (*ws.PreparedMessage is one): Namespace.
// BroadcastTo sends one to the union of rooms minus other rooms and
// clients, each client once; Options.ClientRooms puts each client in a room
// named by its ID, as Socket.IO does.
//
// # Heartbeat
//
// Every Options.PingInterval (30 s) each client is pinged; the hub's read
// loop sees the pong. A client whose pong does not come within
// Options.PongTimeout (10 s) is terminated: its TCP connection is closed
// without a close frame, since a peer that does not read would never see
// one, and it leaves the hub with ErrPongTimeout. The peer, if alive at
// all, sees 1006 (abnormal closure).
//
// # Rate limits, errors, shutdown
//
// Options.RateLimit applies a ratelimit.Limiter per client or per user; a
// client over the limit is answered with an error event or closed with
// 1008. A panic in a callback is recovered and logged with its stack, and
// the client is closed with 1011 (or answered with Options.PanicReply);
// the server goes on. Shutdown closes every client with 1001 "server
// shutting down" and waits, bounded by its context; server.Server's own
// Shutdown does the same for the connections it accepted.
//
// # Monitoring
//
// Stats counts live connections, messages and bytes in and out, queued
// bytes, drops, slow, dead and limited clients, panics and errors, and with
// a Broker, publications, failures, outages and messages received from
// other servers; MetricsHandler serves them as JSON or in the Prometheus
// text format, and Expvar publishes them with package expvar. Connects
// and disconnects are logged with log/slog at Debug, clients ended by the
// hub at Warn, panics at Error, broker outages at Warn.
//
// # Concurrency
//
// A Client's messages are handled one at a time on its read loop, while
// different clients run in parallel: OnMessage must be safe for concurrent
// use across clients. Every method of Hub, Client, Namespace and Room is
// safe for concurrent use.
package hub
