package socketio_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/rfc6455/ws/socketio"
	"github.com/rfc6455/ws/socketio/client"
)

// Message is what the clients of the examples send.
type Message struct {
	Text string `json:"text"`
}

// serve serves io on a loopback port for an example, and returns its URL
// and a function that stops it.
func serve(io *socketio.Server) (string, func()) {
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", io)
	srv := httptest.NewServer(mux)
	return srv.URL, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		io.Shutdown(ctx)
		srv.Close()
	}
}

// The seed's Socket.IO server in Go: a connection handler, a handler for
// "message", an answer to the sender, a broadcast to all and one to the
// others. The client here is this module's Go client; socket.io-client in
// a browser (io("http://localhost:3000")) is the same to the server.
func Example() {
	io := socketio.NewServer(nil)
	gone := make(chan struct{})
	io.OnConnection(func(s *socketio.Socket) {
		socketio.On(s, "message", func(ctx context.Context, s *socketio.Socket, data Message) error {
			fmt.Println("server got:", data.Text)
			s.Emit("message", "Message received") // to the sender
			io.Emit("message", data.Text)         // to all
			return s.Broadcast().Emit("message", data.Text)
		})
		s.OnDisconnect(func(reason error) {
			fmt.Println("client disconnected:", reason)
			close(gone)
		})
	})
	url, stop := serve(io) // http.Handle("/socket.io/", io)
	defer stop()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Connect(ctx, url, nil, nil)
	if err != nil {
		log.Fatal(err)
	}
	got := make(chan string, 2)
	client.On(c, "message", func(ctx context.Context, m string) error {
		got <- m
		return nil
	})
	c.Emit(ctx, "message", Message{Text: "Hello!"})
	fmt.Println("client got:", <-got)
	fmt.Println("client got:", <-got)
	c.Disconnect()
	<-gone
	// Output:
	// server got: Hello!
	// client got: Message received
	// client got: Hello!
	// client disconnected: client namespace disconnect
}

// A handler whose result is the acknowledgement, and what a client that
// sends something else gets.
func ExampleOnAck() {
	io := socketio.NewServer(nil)
	socketio.OnAck(io, "sum", func(ctx context.Context, s *socketio.Socket, xs []int) (int, error) {
		n := 0
		for _, x := range xs {
			n += x
		}
		return n, nil
	})
	url, stop := serve(io)
	defer stop()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Connect(ctx, url, nil, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Disconnect()
	n, err := client.Reply[int](c.EmitWithAck(ctx, "sum", []int{1, 2, 3}))
	fmt.Println(n, err)
	answer, _ := c.EmitWithAck(ctx, "sum", "one, two")
	fmt.Println(string(answer.Raw(0)))
	// Output:
	// 6 <nil>
	// {"error":{"code":"invalid_payload","message":"argument 1: cannot use a JSON string as []int"}}
}

// Rooms: To, Except and a socket's own room select who gets a broadcast.
func ExampleServer_To() {
	io := socketio.NewServer(nil)
	socketio.OnAck(io, "join", func(ctx context.Context, s *socketio.Socket, room string) (bool, error) {
		s.Join(room)
		return true, nil
	})
	url, stop := serve(io)
	defer stop()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got := make(chan string, 10)
	connect := func(name, room string) {
		c, err := client.Connect(ctx, url, nil, nil)
		if err != nil {
			log.Fatal(err)
		}
		client.On(c, "news", func(ctx context.Context, m string) error {
			got <- name + " got " + m
			return nil
		})
		client.Reply[bool](c.EmitWithAck(ctx, "join", room))
	}
	connect("ann", "red")
	connect("bob", "blue")
	io.To("red").Emit("news", "red news")
	fmt.Println(<-got)
	io.Except("red").Emit("news", "not for red")
	fmt.Println(<-got)
	// Output:
	// ann got red news
	// bob got not for red
}

// A middleware refuses a connection: the client gets a connect_error with
// the message and the data.
func ExampleNamespace_Use() {
	io := socketio.NewServer(nil)
	admin := io.Of("/admin")
	admin.Use(func(ctx context.Context, s *socketio.Socket) error {
		var auth struct{ Token string }
		if err := s.Auth(&auth); err != nil || auth.Token != "secret" {
			return &socketio.Error{Message: "not authorized", Data: map[string]string{"hint": "send a token"}}
		}
		return nil
	})
	url, stop := serve(io)
	defer stop()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := client.Connect(ctx, url+"/admin", &client.Options{NoReconnect: true}, nil)
	var ce *client.ConnectError
	if errors.As(err, &ce) {
		fmt.Println(ce.Message, string(ce.Data))
	}
	// Output:
	// not authorized {"hint":"send a token"}
}

// The server asks the client and waits for its acknowledgement, bounded by
// a context, inside a handler: the socket goes on reading meanwhile, so
// the answer gets through.
func ExampleSocket_EmitWithAck() {
	io := socketio.NewServer(nil)
	answers := make(chan string, 1)
	socketio.On(io, "ready", func(ctx context.Context, s *socketio.Socket, _ struct{}) error {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		answer, err := socketio.Reply[string](s.EmitWithAck(ctx, "question", "ready?"))
		if err != nil {
			return err
		}
		answers <- answer
		return nil
	})
	url, stop := serve(io)
	defer stop()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Connect(ctx, url, nil, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Disconnect()
	client.OnAck(c, "question", func(ctx context.Context, q string) (string, error) {
		return "yes, " + q, nil
	})
	c.Emit(ctx, "ready")
	fmt.Println(<-answers)
	// Output:
	// yes, ready?
}
