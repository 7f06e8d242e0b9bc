package client

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/rfc6455/ws/engineio"
	"github.com/rfc6455/ws/socketio"
)

// startOurs starts this module's server with testdata/server.js's events,
// in Go.
func startOurs(t *testing.T, cfg serverConfig) string {
	t.Helper()
	opts := &socketio.Options{
		EngineIO: engineio.Options{
			PingInterval: time.Second,
			PingTimeout:  10 * time.Second,
			Transports:   cfg.Transports,
		},
		Logger: slog.New(slog.DiscardHandler),
	}
	if cfg.Recovery {
		opts.Recovery = &socketio.Recovery{MaxDisconnectionDuration: 30 * time.Second}
	}
	io := socketio.NewServer(opts)
	common := func(ns *socketio.Namespace) {
		ns.OnConnection(func(s *socketio.Socket) {
			s.Emit("welcome", welcome{
				ID:        s.ID(),
				Nsp:       ns.Name(),
				Auth:      withoutRecovery(s.Handshake().Auth),
				Recovered: s.Recovered(),
				Transport: s.Transport(),
			})
		})
		socketio.On(ns, "echo", func(ctx context.Context, s *socketio.Socket, args socketio.Args) error {
			return s.Emit("echo-back", args)
		})
		socketio.OnAck(ns, "ack", func(ctx context.Context, s *socketio.Socket, args socketio.Args) (socketio.Args, error) {
			return args, nil
		})
		socketio.OnAck(ns, "ask", func(ctx context.Context, s *socketio.Socket, q string) (json.RawMessage, error) {
			ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			answer, err := s.EmitWithAck(ctx, "question", q)
			if err != nil {
				return nil, err
			}
			return answer.Raw(0), nil
		})
		socketio.OnAck(ns, "join", func(ctx context.Context, s *socketio.Socket, room string) (struct{}, error) {
			s.Join(room)
			return struct{}{}, nil
		})
		socketio.On(ns, "to-room", func(ctx context.Context, s *socketio.Socket, args socketio.Args) error {
			var room, msg string
			if err := args.Scan(&room, &msg); err != nil {
				return err
			}
			return ns.To(room).Emit("room-msg", msg)
		})
		socketio.On(ns, "kill-transport", func(ctx context.Context, s *socketio.Socket, args socketio.Args) error {
			s.Engine().Close()
			var room string
			var then []string
			if args.Len() == 2 {
				if err := args.Scan(&room, &then); err != nil {
					return err
				}
				go func() {
					time.Sleep(100 * time.Millisecond)
					for _, msg := range then {
						ns.To(room).Emit("room-msg", msg)
					}
				}()
			}
			return nil
		})
		socketio.On(ns, "server-disconnect", func(ctx context.Context, s *socketio.Socket, _ struct{}) error {
			s.Disconnect()
			return nil
		})
	}
	common(io.Of("/"))
	chat := io.Of("/chat")
	chat.Use(func(ctx context.Context, s *socketio.Socket) error {
		var auth struct {
			Token string `json:"token"`
		}
		s.Auth(&auth)
		if auth.Token == "open sesame" {
			return nil
		}
		return &socketio.Error{Message: "not authorized", Data: map[string]any{
			"reason": "bad token",
			"got":    json.RawMessage(withoutRecovery(s.Handshake().Auth)),
		}}
	})
	common(chat)
	ts := httptest.NewServer(io)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		io.Shutdown(ctx)
		ts.Close()
	})
	return ts.URL
}

// withoutRecovery drops the recovery fields the client adds to the auth
// payload on reconnection, as the welcome of testdata/server.js shows only
// the first connection's.
func withoutRecovery(auth json.RawMessage) json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(auth, &m) != nil {
		return auth
	}
	delete(m, "pid")
	delete(m, "offset")
	out, _ := json.Marshal(m)
	return out
}

func TestOurServer(t *testing.T) {
	noLeaks(t)
	runSuite(t, startOurs)
}
