// Package client is a Socket.IO 5 client (Engine.IO 4 underneath), for Go
// services, bots and load tests that talk to Socket.IO servers: the
// reference Node server, this module's package socketio, or any other.
//
//	s, err := client.Connect(ctx, "http://localhost:3000", nil, nil) // io("http://localhost:3000")
//	if err != nil { ... }
//	defer s.Disconnect()
//	client.On(s, "message", func(ctx context.Context, msg Message) error {
//		fmt.Println(msg.Text)
//		return nil
//	})
//	s.Emit(ctx, "message", Message{Text: "Hello!"})
//
// # Managers and sockets
//
// A Manager is one connection to a server: an Engine.IO session over HTTP
// long-polling, upgraded to WebSocket when the server offers it, or over
// WebSocket from the start (Options.Engine.Transports). Its Sockets are the
// namespaces ("/", "/chat", ...) multiplexed on it; each Socket connects
// with its own auth payload (SocketOptions.Auth, sent in the CONNECT
// packet) and can be refused by the server's middlewares: Connect then
// returns a *ConnectError with the server's message and data. Connect is
// the shortcut for a Manager with one Socket.
//
// # Events and acknowledgements
//
// Handlers are typed, as on this module's server (package socketio): On
// decodes an event's first argument into the handler's parameter type,
// OnAck also answers the server's acknowledgement with the handler's
// result, and a handler's error goes back in the acknowledgement as
// {"error":{"code","message"}}. OnEvent gives the raw arguments (Args) of
// events with several. Handlers run one at a time, in order, on a goroutine
// of the Socket, so a handler may emit and wait.
//
// Emit sends its arguments; EmitWithAck waits for the server's
// acknowledgement, bounded by its context, and Reply decodes it into a
// type. []byte arguments and Binary values anywhere in an argument
// travel as binary attachments (a Buffer for the server), and attachments
// received decode into []byte or Binary.
//
// # Reconnection and recovery
//
// When the connection is lost (the server went away, a ping timeout, a
// transport error), every Socket gets OnDisconnect with the reason, and the
// Manager dials again with package reconnect's exponential backoff and
// jitter (Options.Backoff, MaxAttempts); each Socket that was connected
// rejoins its namespace with a new CONNECT. Emits made meanwhile wait in a
// bounded buffer and go out on the new connection. Against a server with
// connection state recovery (socket.io 4.6+), the Socket sends its private
// id and the offset of the last event it received, and, when the server
// restores the session, keeps its id and rooms, receives the events it
// missed, and reports Recovered. A Socket that the server disconnected
// (ErrServerDisconnect) or that Disconnect ended does not reconnect.
package client
