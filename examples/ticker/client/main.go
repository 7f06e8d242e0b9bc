// Command client prints the quotes of the ticker server, and keeps doing so
// across restarts of the server: it uses package reconnect, which dials
// again with backoff and re-subscribes after every connection.
//
//	go run ./examples/ticker/client
//	go run ./examples/ticker/client -url ws://127.0.0.1:8082/ws -symbols ACME,GOPH -n 20
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/event"
	"github.com/rfc6455/ws/examples/ticker/feed"
	"github.com/rfc6455/ws/reconnect"
	"github.com/rfc6455/ws/wsjson"
)

func main() {
	log.SetFlags(0)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		log.Fatal("ticker client: ", err)
	}
}

// run prints quotes until ctx ends or -n of them have been printed.
func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("client", flag.ContinueOnError)
	url := fs.String("url", "ws://127.0.0.1:8082/ws", "the ticker's WebSocket URL")
	symbols := fs.String("symbols", "", "comma-separated symbols to follow (all when empty)")
	n := fs.Int("n", 0, "stop after this many price updates (0: until Ctrl-C)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var subscribe struct {
		Symbols []string `json:"symbols"`
	}
	subscribe.Symbols = []string{}
	if *symbols != "" {
		subscribe.Symbols = strings.Split(*symbols, ",")
	}
	sub, err := event.Encode("subscribe", subscribe)
	if err != nil {
		return err
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	updates := 0
	c := reconnect.New(*url, &reconnect.Options{
		Backoff:      reconnect.Backoff{Initial: 250 * time.Millisecond, Max: 10 * time.Second},
		PingInterval: 15 * time.Second,
		// After every connection: subscribe, and wait for the snapshot
		// so that a refusal fails the attempt.
		OnConnect: func(ctx context.Context, conn *ws.Conn) error {
			if err := conn.WriteMessage(ctx, ws.Text, sub); err != nil {
				return err
			}
			var e event.Event
			if err := wsjson.Read(ctx, conn, &e); err != nil {
				return err
			}
			var snap []feed.Quote
			if e.Type != "snapshot" || e.Decode(&snap) != nil {
				return fmt.Errorf("subscription refused: %s %s", e.Type, e.Payload)
			}
			for _, q := range snap {
				fmt.Fprintf(out, "snapshot %-5s %9.2f\n", q.Symbol, q.Price)
			}
			return nil
		},
		OnMessage: func(typ ws.MessageType, data []byte) {
			e, err := event.Parse(data)
			if err != nil || e.Type != "price" {
				return
			}
			var q feed.Quote
			if e.Decode(&q) != nil {
				return
			}
			if *n > 0 && updates >= *n {
				// Messages already on their way when cancel
				// was called are not printed.
				return
			}
			fmt.Fprintf(out, "%-5s %9.2f %+7.2f  #%d\n", q.Symbol, q.Price, q.Change, q.Seq)
			if updates++; *n > 0 && updates >= *n {
				cancel()
			}
		},
		OnStateChange: func(t reconnect.Transition) {
			fmt.Fprintf(out, "-- %v\n", t)
		},
	})
	err = c.Run(ctx)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}
