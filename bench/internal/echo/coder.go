package echo

import (
	"context"
	"net/http"

	"github.com/coder/websocket"
)

// coderHandler is coder/websocket as its documentation shows it: Accept,
// then Read and Write with a context.
func coderHandler(mode string) http.Handler {
	opts := &websocket.AcceptOptions{InsecureSkipVerify: true}
	switch mode {
	case DeflateNoTakeover:
		opts.CompressionMode = websocket.CompressionNoContextTakeover
	case DeflateTakeover:
		opts.CompressionMode = websocket.CompressionContextTakeover
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, opts)
		if err != nil {
			return // Accept has answered the client
		}
		defer c.CloseNow()
		c.SetReadLimit(ReadLimit)
		ctx := context.Background()
		for {
			typ, msg, err := c.Read(ctx)
			if err != nil {
				return
			}
			if err := c.Write(ctx, typ, msg); err != nil {
				return
			}
		}
	})
}
