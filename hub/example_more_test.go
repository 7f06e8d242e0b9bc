package hub_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/client"
	"github.com/rfc6455/ws/hub"
	"github.com/rfc6455/ws/server"
)

// Backpressure, as Node users check ws.bufferedAmount: a feed skips the
// updates that a slow client could only receive late, and sends it the
// next one once its backlog is gone. (Sending never blocks: the queue is
// bounded, and Options.Overflow handles a full one.)
func ExampleClient_BufferedAmount() {
	registered := make(chan *hub.Client, 1)
	h := hub.New(&hub.Options{OnConnect: func(c *hub.Client) { registered <- c }})
	serverEnd, clientEnd := net.Pipe() // a client that has not read anything yet
	go h.Serve(context.Background(), ws.NewConn(serverEnd, nil, ws.RoleServer, nil), hub.Info{})
	c := <-registered

	const maxBacklog = 4 << 10 // bytes
	update := make([]byte, 1<<10)
	sent, skipped := 0, 0
	for range 10 {
		if c.BufferedAmount() >= maxBacklog {
			skipped++ // the client would see it late: skip it
			continue
		}
		c.Send(ws.Binary, update)
		sent++
	}
	fmt.Printf("sent %d, skipped %d, backlog %d bytes\n", sent, skipped, c.BufferedAmount())

	peer := ws.NewConn(clientEnd, nil, ws.RoleClient, nil)
	for range sent {
		peer.ReadMessage(context.Background(), nil)
	}
	peer.CloseNow()
	// Output: sent 4, skipped 6, backlog 4096 bytes
}

// Monitoring: the hub's counters as JSON or in the Prometheus text format
// (and with expvar.Publish("websocket", h.Expvar()), in /debug/vars).
func ExampleHub_MetricsHandler() {
	h := hub.New(&hub.Options{
		OnMessage: func(c *hub.Client, typ ws.MessageType, data []byte) { c.Send(typ, data) },
	})
	mux := http.NewServeMux()
	mux.Handle("/ws", &server.Server{Handle: func(c *ws.Conn, r *http.Request) {
		h.Serve(r.Context(), c, hub.Info{})
	}})
	mux.Handle("/metrics", h.MetricsHandler("chat"))
	ts := httptest.NewServer(mux)
	defer ts.Close()

	ctx := context.Background()
	c, _, err := client.Dial(ctx, "ws"+strings.TrimPrefix(ts.URL, "http")+"/ws", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close(ws.CloseNormal, "")
	c.WriteMessage(ctx, ws.Text, []byte("ping?"))
	c.ReadMessage(ctx, nil) // the echo: the hub has handled the message

	resp, err := http.Get(ts.URL + "/metrics?format=prometheus")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if line := sc.Text(); line == "chat_connections 1" || line == "chat_messages_received_total 1" ||
			strings.HasPrefix(line, "# TYPE chat_connections ") {
			fmt.Println(line)
		}
	}
	// Output:
	// # TYPE chat_connections gauge
	// chat_connections 1
	// chat_messages_received_total 1
}
