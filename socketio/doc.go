// Package socketio is a Socket.IO server (protocol 5, the one of
// socket.io-client 3 and 4) over package engineio (Engine.IO 4: WebSocket,
// HTTP long-polling, and the upgrade from one to the other), with an API in
// the shape of Go: typed handlers, contexts on what waits, errors as values.
// The official socket.io-client, in the browser or in Node, talks to it
// unchanged, and the official protocol test suite passes against it (see
// socketio/testserver).
//
// # A server
//
// The JavaScript server's
//
//	io.on("connection", (socket) => {
//	  socket.on("message", (data) => {
//	    socket.emit("message", "Message received"); // to the sender
//	    io.emit("message", data);                    // to all
//	    socket.broadcast.emit("message", data);      // to the others
//	  });
//	});
//
// is, in Go:
//
//	io := socketio.NewServer(nil)
//	io.OnConnection(func(s *socketio.Socket) {
//		socketio.On(s, "message", func(ctx context.Context, s *socketio.Socket, data Message) error {
//			s.Emit("message", "Message received") // to the sender
//			io.Emit("message", data)              // to all
//			return s.Broadcast().Emit("message", data) // to the others
//		})
//	})
//	http.Handle("/socket.io/", io)
//
// where Message is the struct the client sends ({"text": "Hello!"}). A
// Server is its main namespace, "/"; Server.Of returns others
// (io.of("/chat")).
//
// # Handlers
//
// On registers a handler for an event on a Router: the Server or a
// Namespace (for every socket of it: handlers are shared, registered once)
// or a Socket (for that socket, as socket.on does). The handler declares
// the type of the argument it wants, and gets it decoded; an argument that
// does not fit is not passed on: the client is told why, in the
// acknowledgement it asked for or with an "error" event. OnAck registers a
// handler whose result is the acknowledgement's argument:
//
//	socketio.OnAck(io, "sum", func(ctx context.Context, s *socketio.Socket, xs []int) (int, error) {...})
//
// A handler taking Args gets every argument undecoded (Args.Scan decodes
// several, Args.Bytes a binary one); struct{} takes none; a pointer type
// makes the argument optional.
//
// A socket's handlers run one at a time, in the order the events came. On
// WebSocket an event that finds its socket idle is handled by the goroutine
// that read it, which also writes the acknowledgement: a round trip costs
// no goroutine hand-off. A handler may still block — wait for an
// acknowledgement from the same client, query a database — without
// stopping its socket from reading: after a millisecond the reading moves
// to a new goroutine, and the blocked one becomes the socket's worker,
// which handles the events that came meanwhile and is gone once the socket
// has nothing left to do: an idle socket costs no goroutine besides its
// connection's reader. ctx ends when the socket disconnects.
//
// # Errors
//
// A handler's error goes back to the client: an *Error as it is
// ({"code","message"}), any other error as {"code":"internal","message":
// "internal error"}, with the details only in the log, so that nothing
// internal leaks. When the client asked for an acknowledgement, it gets
// {"error":{"code","message"}} as its argument; otherwise an "error" event
// ({"code","message","event"}; Options.ErrorEvent renames it). A panic in a
// handler is recovered, logged with its stack, and reported as an internal
// error; the server goes on.
//
// # Emitting
//
// Socket.Emit, Namespace.Emit, Server.Emit and Operator.Emit take the
// event's arguments as Go values, encoded with encoding/json; a []byte
// argument, and a Binary anywhere in a value, travel as binary attachments
// (a Buffer or ArrayBuffer on the client); a json.RawMessage is sent as is;
// an Args is spread. Emitting never blocks: each client has a bounded
// outgoing buffer (engineio.Options.MaxBufferedAmount), and a client that
// does not keep up is closed (it reconnects, and with connection state
// recovery gets what it missed) or, with Options.DropSlow, misses the
// messages that do not fit.
//
// Socket.EmitWithAck waits for the client's acknowledgement, bounded by a
// context; Operator.EmitWithAck collects those of every socket selected:
//
//	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
//	defer cancel()
//	answer, err := socketio.Reply[string](s.EmitWithAck(ctx, "question", "ready?"))
//
// # Rooms and broadcasts
//
// Sockets join and leave rooms of their namespace (Socket.Join,
// Socket.Leave); each socket is also in a room named by its id. To, In,
// Except and Volatile select sockets, and chain:
//
//	io.To("room1").Emit("message", "Hello room")
//	io.To("a", "b").Except("muted").Emit("news", item) // each socket once
//	s.To("room1").Emit("typing", who)                 // but s
//	s.Broadcast().Emit("message", m)                  // all but s
//
// A broadcast is encoded once — its Engine.IO packets, and for each
// transport its WebSocket frame or its polling payload — and queued for
// every socket without copying. Rooms and the per-socket queues are those
// of package hub: Server.Hub has their metrics. Volatile events are
// dropped for a socket whose transport cannot take them at once.
// FetchSockets, SocketsJoin, SocketsLeave and DisconnectSockets act on the
// sockets an Operator selects.
//
// # Namespaces and middlewares
//
// Server.Of makes a namespace; OfRegexp and OfFunc make dynamic ones, which
// create a namespace for each name they accept when a client asks for it,
// sharing their handlers. A Middleware runs for each connecting socket
// and may refuse it: the client gets a connect_error whose message is the
// error's text and whose data is Error.Data. An unknown namespace is
// refused with "Invalid namespace", as by the reference server.
//
// # Connection state recovery
//
// With Options.Recovery, a client cut off for less than
// Recovery.MaxDisconnectionDuration gets back its socket id, rooms and
// data when it reconnects, and the broadcasts it missed, in order
// (Socket.Recovered, socket.recovered on the client). As in the reference
// server, every event then carries an offset as its last argument, which
// the client sends back when it reconnects.
//
// # Disconnection
//
// OnDisconnect handlers get the reason as an error: ErrTransportClose,
// ErrPingTimeout, ErrClientNamespaceDisconnect and the others of this
// package, whose texts are the reference server's reasons.
//
// # Protocol and limits
//
// Packets are parsed by package socketio/parser, which enforces the
// protocol document's rules and the reference parser's; a malformed packet
// closes the connection, as the reference does. A client that joins no
// namespace within Options.ConnectTimeout is closed; packets may carry at
// most Options.MaxAttachments attachments; the events waiting for a
// socket's handlers are bounded by Options.MaxQueuedEvents and
// MaxQueuedBytes, beyond which the connection is not read until a handler
// finishes.
package socketio
