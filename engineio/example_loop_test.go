package engineio_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/client"
	"github.com/rfc6455/ws/engineio"
)

// An echo server on the event-loop driver: the WebSocket sessions are
// served by the event loops of a loop.Server, with no goroutine per
// connection, and polling, on the same port, by net/http through its
// Fallback. Message runs on the event loop there, so it must not block:
// TrySendPrepared queues without waiting.
func ExampleLoopMux() {
	srv := engineio.NewServer(&engineio.Options{
		Handler: engineio.HandlerFuncs{
			OnMessage: func(s *engineio.Socket, typ ws.MessageType, data []byte) {
				if p, err := engineio.NewMessage(typ, append([]byte(nil), data...)); err == nil {
					s.TrySendPrepared(p)
				}
			},
		},
	})
	mux := engineio.NewLoopMux()
	mux.Handle("/engine.io/", srv)
	ls := mux.Server()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go ls.Serve(ln) // or ls.ListenAndServe(":3000")
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		ls.Shutdown(ctx)
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := client.Dial(ctx, "ws://"+ln.Addr().String()+"/engine.io/?EIO=4&transport=websocket", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.CloseNow()
	_, open, _ := c.ReadMessage(ctx, nil)
	fmt.Println("open packet type:", string(open[:1]))
	c.WriteMessage(ctx, ws.Text, []byte("4hello"))
	_, echo, _ := c.ReadMessage(ctx, nil)
	fmt.Println("echo:", string(echo))

	res, err := http.Get("http://" + ln.Addr().String() + "/engine.io/?EIO=4&transport=polling")
	if err != nil {
		log.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	fmt.Println("polling handshake on the same port:", res.StatusCode, string(body[:1]))
	// Output:
	// open packet type: 0
	// echo: 4hello
	// polling handshake on the same port: 200 0
}
