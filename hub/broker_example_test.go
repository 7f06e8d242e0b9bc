package hub_test

import (
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

// Two hubs joined by a broker: a room broadcast on one reaches the room's
// members on the other. Here the broker is in-process; across machines it
// would be natsbroker's.
func ExampleNewMemoryBroker() {
	bus := hub.NewMemoryBroker()
	joined := make(chan struct{}, 1)
	start := func(id string) (*hub.Hub, string, func()) {
		h := hub.New(&hub.Options{
			ServerID:  id,
			Broker:    bus,
			OnConnect: func(c *hub.Client) { c.Join("lobby"); joined <- struct{}{} },
		})
		srv := &server.Server{Handle: func(c *ws.Conn, r *http.Request) { h.Serve(r.Context(), c, hub.Info{}) }}
		ts := httptest.NewServer(srv)
		return h, "ws" + strings.TrimPrefix(ts.URL, "http"), func() {
			srv.Shutdown(context.Background())
			h.Shutdown(context.Background())
			ts.Close()
		}
	}
	a, _, stopA := start("A")
	defer stopA()
	_, urlB, stopB := start("B")
	defer stopB()

	ctx := context.Background()
	bob, _, err := client.Dial(ctx, urlB, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer bob.CloseNow()
	<-joined

	pm, _ := ws.NewPreparedMessage(ws.Binary, []byte{1, 2, 3})
	fmt.Println("members on A:", a.Room("lobby").Broadcast(pm))
	typ, msg, _ := bob.ReadMessage(ctx, nil)
	fmt.Println("bob, on B, got", typ, msg)
	// Output:
	// members on A: 0
	// bob, on B, got binary [1 2 3]
}
