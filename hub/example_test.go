package hub_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/client"
	"github.com/rfc6455/ws/hub"
	"github.com/rfc6455/ws/server"
)

// A chat room: each message goes to everyone in the sender's room but the
// sender.
func Example() {
	joined := make(chan struct{}, 2)
	h := hub.New(&hub.Options{
		OnConnect: func(c *hub.Client) {
			c.Join("lobby")
			joined <- struct{}{}
		},
		OnMessage: func(c *hub.Client, typ ws.MessageType, data []byte) {
			msg := fmt.Appendf(nil, "%s: %s", c.User(), bytes.TrimSpace(data))
			pm, _ := ws.NewPreparedMessage(ws.Text, msg)
			c.Namespace().Room("lobby").Broadcast(pm, c)
		},
	})
	srv := &server.Server{Handle: func(c *ws.Conn, r *http.Request) {
		h.Serve(r.Context(), c, hub.Info{User: r.URL.Query().Get("name")})
	}}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	defer srv.Shutdown(context.Background())

	ctx := context.Background()
	url := "ws" + strings.TrimPrefix(ts.URL, "http")
	ann, _, err := client.Dial(ctx, url+"?name=ann", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	bob, _, err := client.Dial(ctx, url+"?name=bob", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ann.Close(ws.CloseNormal, "")
	defer bob.Close(ws.CloseNormal, "")
	<-joined
	<-joined
	ann.WriteMessage(ctx, ws.Text, []byte("hello, room"))
	_, msg, _ := bob.ReadMessage(ctx, nil)
	fmt.Printf("bob got %q\n", msg)
	fmt.Println("in the lobby:", h.Room("lobby").Len())
	// Output:
	// bob got "ann: hello, room"
	// in the lobby: 2
}
