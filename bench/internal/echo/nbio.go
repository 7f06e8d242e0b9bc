package echo

import (
	"context"
	"net"
	"net/http"
	"time"

	"github.com/lesismal/nbio/nbhttp"
	"github.com/lesismal/nbio/nbhttp/websocket"
)

// serveNbio is lesismal/nbio in its documented non-blocking style: an
// nbhttp.Engine (IOModNonBlocking, the default) whose epoll pollers read
// every connection, and a websocket.Upgrader whose OnMessage writes the
// message back. MaxLoad, 10,000 connections by default, is raised so that
// the idle case can hold more; ReleaseWebsocketPayload gives each message's
// buffer back after OnMessage, as nbio's own 1M-connection benchmark does.
// nbio has no permessage-deflate context takeover switch on the server, and
// is run here without compression.
func serveNbio(ctx context.Context, ln net.Listener) error {
	up := websocket.NewUpgrader()
	up.MessageLengthLimit = ReadLimit
	up.CheckOrigin = func(*http.Request) bool { return true }
	up.OnMessage(func(c *websocket.Conn, typ websocket.MessageType, data []byte) {
		c.WriteMessage(typ, data)
	})
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return // Upgrade has answered the client
		}
		c.SetReadDeadline(time.Time{})
	})
	engine := nbhttp.NewEngine(nbhttp.Config{
		Network: "tcp",
		Addrs:   []string{ln.Addr().String()},
		// The harness listens; nbio takes the listener over.
		Listen:                  func(string, string) (net.Listener, error) { return ln, nil },
		Handler:                 mux,
		MaxLoad:                 1 << 20,
		ReleaseWebsocketPayload: true,
		IOMod:                   nbhttp.IOModNonBlocking,
	})
	if err := engine.Start(); err != nil {
		return err
	}
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	engine.Shutdown(sctx)
	return nil
}
