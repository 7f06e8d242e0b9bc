package echo

import (
	"net/http"

	"github.com/gorilla/websocket"
)

// gorillaHandler is gorilla/websocket as its echo example uses it: an
// Upgrader with the default buffer sizes, then ReadMessage/WriteMessage.
func gorillaHandler(mode string) http.Handler {
	up := &websocket.Upgrader{
		CheckOrigin: func(*http.Request) bool { return true },
		// gorilla negotiates permessage-deflate without context takeover
		// only, at its default level 1.
		EnableCompression: mode == DeflateNoTakeover,
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return // Upgrade has answered the client
		}
		defer c.Close()
		c.SetReadLimit(ReadLimit)
		for {
			mt, msg, err := c.ReadMessage()
			if err != nil {
				return
			}
			if err := c.WriteMessage(mt, msg); err != nil {
				return
			}
		}
	})
}
