package event_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/client"
	"github.com/rfc6455/ws/event"
	"github.com/rfc6455/ws/hub"
	"github.com/rfc6455/ws/server"
)

// Events routed by type to handlers that get the hub's client; bad input is
// answered with error events.
func Example() {
	router := event.NewRouter[*hub.Client](nil)
	router.Handle("add", func(ctx context.Context, c *hub.Client, e *event.Event) error {
		var p struct{ A, B int }
		if err := e.Decode(&p); err != nil {
			return err // an "invalid_payload" error event
		}
		return event.Send(c, "sum", p.A+p.B)
	})
	h := hub.New(&hub.Options{OnMessage: router.Dispatch})
	srv := &server.Server{Handle: func(c *ws.Conn, r *http.Request) {
		h.Serve(r.Context(), c, hub.Info{})
	}}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	defer srv.Shutdown(context.Background())

	ctx := context.Background()
	c, _, err := client.Dial(ctx, "ws"+strings.TrimPrefix(ts.URL, "http"), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close(ws.CloseNormal, "")
	for _, msg := range []string{
		`{"type":"add","payload":{"A":2,"B":3}}`,
		`{"type":"add","payload":{"A":"two"}}`,
		`{"type":"mul","id":"7"}`,
		`{not json`,
	} {
		c.WriteMessage(ctx, ws.Text, []byte(msg))
		_, reply, _ := c.ReadMessage(ctx, nil)
		e, _ := event.Parse(reply)
		if e.Type == "error" {
			var p event.Error
			e.Decode(&p)
			fmt.Printf("error %s for %q\n", p.Code, p.ID)
			continue
		}
		fmt.Println(e.Type, string(e.Payload))
	}
	// Output:
	// sum 5
	// error invalid_payload for ""
	// error unknown_type for "7"
	// error invalid_json for ""
}
