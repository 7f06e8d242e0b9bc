package main

import (
	"context"
	"time"

	"github.com/rfc6455/ws/engineio"
	"github.com/rfc6455/ws/socketio"
)

// socketIOOptions is the configuration of the official Socket.IO test
// suite's reference server: pingInterval 300 ms, pingTimeout 200 ms,
// maxPayload 1e6, CORS for any origin, connectTimeout 1000 ms.
func socketIOOptions() *socketio.Options {
	return &socketio.Options{
		EngineIO: engineio.Options{
			PingInterval: 300 * time.Millisecond,
			PingTimeout:  200 * time.Millisecond,
			MaxPayload:   1_000_000,
			CORS:         &engineio.CORS{AllowOrigins: []string{"*"}},
		},
		ConnectTimeout: 1000 * time.Millisecond,
	}
}

// newSocketIO returns the suite's Socket.IO server: on "/" and "/custom",
// each socket gets an "auth" event with its handshake's auth payload ({}
// without one); "message" is answered with "message-back" and the same
// arguments, and "message-with-ack" is acknowledged with its arguments,
// binary attachments included.
func newSocketIO() *socketio.Server { return newSocketIOWith(socketIOOptions()) }

// newSocketIOWith is newSocketIO with other options, for tests.
func newSocketIOWith(opts *socketio.Options) *socketio.Server {
	io := socketio.NewServer(opts)
	for _, ns := range []*socketio.Namespace{io.Of("/"), io.Of("/custom")} {
		ns.OnConnection(func(s *socketio.Socket) {
			s.Emit("auth", s.Handshake().Auth)
		})
		socketio.On(ns, "message", func(ctx context.Context, s *socketio.Socket, args socketio.Args) error {
			return s.Emit("message-back", args)
		})
		socketio.OnAck(ns, "message-with-ack", func(ctx context.Context, s *socketio.Socket, args socketio.Args) (socketio.Args, error) {
			return args, nil
		})
	}
	return io
}
