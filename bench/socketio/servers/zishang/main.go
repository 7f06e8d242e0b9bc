// Command zishang is zishang520/socket.io v3.0.6 with the Socket.IO
// benchmark's events (see ../node/server.js), for comparison.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"

	"github.com/zishang520/socket.io/servers/socket/v3"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:3003", "listen address")
	flag.Parse()
	io := socket.NewServer(nil, nil)
	io.On("connection", func(clients ...any) {
		s := clients[0].(*socket.Socket)
		s.On("join", func(args ...any) {
			s.Join("bench")
			if ack, ok := args[len(args)-1].(socket.Ack); ok {
				ack(nil, nil)
			}
		})
		s.On("echo", func(args ...any) {
			if ack, ok := args[len(args)-1].(socket.Ack); ok {
				ack(args[:len(args)-1], nil)
			}
		})
		s.On("blast", func(args ...any) {
			count, _ := args[0].(float64)
			for range int(count) {
				io.To("bench").Emit("msg", args[1])
			}
			if ack, ok := args[len(args)-1].(socket.Ack); ok {
				ack(nil, nil)
			}
		})
	})
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", io.ServeHandler(nil))
	fmt.Println("listening", ln.Addr())
	go func() {
		// Exit when the harness goes away.
		bufio.NewReader(os.Stdin).ReadString('\n')
		os.Exit(0)
	}()
	log.Fatal(http.Serve(ln, mux))
}
