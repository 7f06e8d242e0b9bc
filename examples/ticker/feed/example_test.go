package feed_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/client"
	"github.com/rfc6455/ws/event"
	"github.com/rfc6455/ws/examples/ticker/feed"
	"github.com/rfc6455/ws/wsjson"
)

// A subscriber gets a snapshot, then a price event for each step.
func Example() {
	f := feed.New(&feed.Options{Symbols: map[string]float64{"ACME": 100}})
	srv := httptest.NewServer(f.Handler())
	defer srv.Close()
	defer f.Shutdown(context.Background())

	ctx := context.Background()
	c, _, err := client.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/ws", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.CloseNow()
	sub, _ := event.Encode("subscribe", map[string][]string{"symbols": {"ACME"}})
	c.WriteMessage(ctx, ws.Text, sub)

	var e event.Event
	wsjson.Read(ctx, c, &e)
	var snap []feed.Quote
	e.Decode(&snap)
	fmt.Println(e.Type, snap[0].Symbol, snap[0].Price)

	f.Step() // what Run does every Interval
	wsjson.Read(ctx, c, &e)
	var q feed.Quote
	e.Decode(&q)
	fmt.Println(e.Type, q.Symbol, q.Seq, q.Price > 98 && q.Price < 102)
	// Output:
	// snapshot ACME 100
	// price ACME 1 true
}
