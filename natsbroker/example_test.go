package natsbroker_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/client"
	"github.com/rfc6455/ws/hub"
	"github.com/rfc6455/ws/natsbroker"
	wsserver "github.com/rfc6455/ws/server"
)

// Two servers, each with its own hub, share room "lobby" through NATS: a
// message sent on one reaches the room's members on the other.
func Example() {
	// A NATS server for the example; in production, the cluster's own.
	ns, _ := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
	ns.Start()
	defer ns.WaitForShutdown()
	defer ns.Shutdown()
	ns.ReadyForConnections(5e9)

	joined := make(chan struct{}, 2)
	start := func(id string) (*hub.Hub, string, func()) {
		broker, err := natsbroker.Connect(ns.ClientURL(), nil) // one broker per hub
		if err != nil {
			panic(err)
		}
		h := hub.New(&hub.Options{
			ServerID: id,
			Broker:   broker,
			OnConnect: func(c *hub.Client) {
				c.Join("lobby")
				joined <- struct{}{}
			},
			OnMessage: func(c *hub.Client, typ ws.MessageType, data []byte) {
				pm, _ := ws.NewPreparedMessage(typ, bytes.Clone(data))
				c.Namespace().Room("lobby").Broadcast(pm, c) // every server's lobby
			},
		})
		srv := &wsserver.Server{Handle: func(c *ws.Conn, r *http.Request) {
			h.Serve(r.Context(), c, hub.Info{})
		}}
		ts := httptest.NewServer(srv)
		broker.Conn().Flush() // the subscription is in place
		return h, "ws" + strings.TrimPrefix(ts.URL, "http"), func() {
			srv.Shutdown(context.Background())
			h.Shutdown(context.Background())
			ts.Close()
			broker.Close()
		}
	}
	_, urlA, stopA := start("A")
	defer stopA()
	_, urlB, stopB := start("B")
	defer stopB()

	ctx := context.Background()
	ann, _, _ := client.Dial(ctx, urlA, nil)
	defer ann.CloseNow()
	bob, _, _ := client.Dial(ctx, urlB, nil)
	defer bob.CloseNow()
	<-joined
	<-joined

	ann.WriteMessage(ctx, ws.Text, []byte("hello from A"))
	typ, msg, _ := bob.ReadMessage(ctx, nil)
	fmt.Printf("bob, on B, got %s %q\n", typ, msg)
	// Output: bob, on B, got text "hello from A"
}
