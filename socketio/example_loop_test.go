package socketio_test

import (
	"context"
	"fmt"
	"log"
	"net"
	"time"

	"github.com/rfc6455/ws/engineio"
	"github.com/rfc6455/ws/socketio"
	"github.com/rfc6455/ws/socketio/client"
)

// A Socket.IO server on the event-loop driver: its Engine.IO server mounted
// on an engineio.LoopMux, whose loop.Server serves the WebSockets from a
// few event loops (no goroutine per idle socket) and polling, on the same
// port, through its Fallback. The handlers are the same as on net/http:
// on the event loop, each socket's events go to a goroutine of the
// socket's, started when events come and gone when it is idle, so a
// handler may block.
func Example_eventLoop() {
	io := socketio.NewServer(nil)
	socketio.OnAck(io, "double", func(ctx context.Context, s *socketio.Socket, n int) (int, error) {
		return 2 * n, nil
	})
	mux := engineio.NewLoopMux()
	mux.Handle("/socket.io/", io.Engine())
	ls := mux.Server()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go ls.Serve(ln) // or ls.ListenAndServe(":3000")
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		io.Shutdown(ctx)
		ls.Shutdown(ctx)
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Connect(ctx, "http://"+ln.Addr().String(), nil, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Disconnect()
	ack, err := c.EmitWithAck(ctx, "double", 21)
	if err != nil {
		log.Fatal(err)
	}
	var doubled int
	if err := ack.Scan(&doubled); err != nil {
		log.Fatal(err)
	}
	fmt.Println("doubled:", doubled)
	// Output:
	// doubled: 42
}
