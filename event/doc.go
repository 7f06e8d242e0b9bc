// Package event gives WebSocket messages a JSON envelope and dispatches
// them by type, in the style of Socket.IO's emit/on, for chat, dashboards,
// notifications and games.
//
// Every message is a JSON text message:
//
//	{"type":"chat","id":"42","payload":{"text":"hi"},"ts":1767225600000}
//
// type selects the handler; id, optional, is echoed in the error event a
// failing request causes; ts is milliseconds since the Unix epoch.
//
// A Router holds the handlers. Its Dispatch method validates each message
// and never panics on input: a message that is not a valid envelope, an
// unknown type, a handler's error and a handler's panic are answered with
// an error event ({"type":"error","payload":{"code":...,"message":...}}), or,
// as configured, with a close: 1007 for invalid JSON, 1003 for unknown types
// and binary messages, 1011 for panics. Recovered panics are logged with
// log/slog, with their stack, and the server goes on.
//
// The Router is generic in the connection type its handlers get, so that
// with package hub they receive a *hub.Client, with its rooms and identity:
//
//	router := event.NewRouter[*hub.Client](nil)
//	h := hub.New(&hub.Options{OnMessage: router.Dispatch})
//	router.Handle("chat", func(ctx context.Context, c *hub.Client, e *event.Event) error {
//		var m struct{ Room, Text string }
//		if err := e.Decode(&m); err != nil {
//			return err // sent back as an "invalid_payload" error event
//		}
//		pm, err := event.Prepare("chat", m)
//		if err != nil {
//			return err
//		}
//		c.Namespace().Room(m.Room).Broadcast(pm, c) // everyone in the room but the sender
//		return nil
//	})
//
// Without a hub, Serve runs a Router on one *ws.Conn.
package event
