package client_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/rfc6455/ws/engineio"
	"github.com/rfc6455/ws/socketio/client"
)

type Message struct {
	Text string `json:"text"`
}

// The seed's Socket.IO client, in Go: connect, listen for "message", emit
// one.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := client.Connect(ctx, "http://localhost:3000", nil, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Disconnect()
	fmt.Println("connected:", s.ID())
	client.On(s, "message", func(ctx context.Context, msg Message) error {
		fmt.Println("message:", msg.Text)
		return nil
	})
	s.OnDisconnect(func(reason error) { fmt.Println("disconnected:", reason) })
	if err := s.Emit(ctx, "message", Message{Text: "Hello!"}); err != nil {
		log.Fatal(err)
	}
}

// A namespace with an auth payload, on WebSocket only, and an
// acknowledged call.
func ExampleManager_Socket() {
	ctx := context.Background()
	m, err := client.NewManager("http://localhost:3000", &client.Options{
		Engine: engineio.ClientOptions{Transports: []string{engineio.WebSocket}},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	chat := m.Socket("/chat", &client.SocketOptions{Auth: map[string]string{"token": "secret"}})
	if err := chat.Connect(ctx); err != nil {
		log.Fatal(err) // a *client.ConnectError if a middleware refused
	}
	callCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	count, err := client.Reply[int](chat.EmitWithAck(callCtx, "count-users", "room1"))
	if err != nil {
		log.Fatal(err) // context.DeadlineExceeded if the server did not answer in time
	}
	fmt.Println(count, "users")
}

// Answering the server's acknowledgements with a typed handler.
func ExampleOnAck() {
	var s *client.Socket // from Connect or Manager.Socket
	client.OnAck(s, "ping", func(ctx context.Context, n int) (int, error) {
		return n + 1, nil
	})
}
