package main

import (
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/engineio"
)

// engineIOOptions is the configuration of the official Engine.IO test
// suite's reference server: pingInterval 300 ms, pingTimeout 200 ms,
// maxPayload 1e6, CORS for any origin. Every message is echoed.
func engineIOOptions() *engineio.Options {
	return &engineio.Options{
		PingInterval: 300 * time.Millisecond,
		PingTimeout:  200 * time.Millisecond,
		MaxPayload:   1_000_000,
		CORS:         &engineio.CORS{AllowOrigins: []string{"*"}},
		Handler: engineio.HandlerFuncs{
			OnMessage: func(s *engineio.Socket, typ ws.MessageType, data []byte) {
				// The echo may wait for room in the session's buffer,
				// never past the session's end.
				s.Send(s.Context(), typ, data)
			},
		},
	}
}

// newEngineIO returns the agent's Engine.IO echo server.
func newEngineIO() *engineio.Server { return engineio.NewServer(engineIOOptions()) }
