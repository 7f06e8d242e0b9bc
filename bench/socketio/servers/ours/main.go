// Command ours is this module's Socket.IO server (package socketio) with
// the Socket.IO benchmark's events (see ../node/server.js), with default
// options, as an application would write it: typed handlers. With -loop
// the WebSockets are served by the event loops of package loop
// (engineio.LoopMux) and polling through its Fallback, on the same port.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"runtime/pprof"

	"github.com/rfc6455/ws/engineio"
	"github.com/rfc6455/ws/socketio"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:3002", "listen address")
	profile := flag.String("cpuprofile", "", "write a CPU profile to this file (for siobench -server-profile)")
	debug := flag.String("pprof", "", "serve net/http/pprof on this address (for looking at memory)")
	useLoop := flag.Bool("loop", false, "serve WebSockets from the event loops of package loop")
	flag.Parse()
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			log.Fatal(err)
		}
		pprof.StartCPUProfile(f)
	}
	io := socketio.NewServer(nil)
	socketio.OnAck(io, "join", func(ctx context.Context, s *socketio.Socket, _ struct{}) (struct{}, error) {
		s.Join("bench")
		return struct{}{}, nil
	})
	socketio.OnAck(io, "echo", func(ctx context.Context, s *socketio.Socket, args socketio.Args) (socketio.Args, error) {
		return args, nil
	})
	socketio.On(io, "blast", func(ctx context.Context, s *socketio.Socket, args socketio.Args) error {
		var count int
		var payload string
		if err := args.Scan(&count, &payload); err != nil {
			return err
		}
		room := io.To("bench")
		for range count {
			if err := room.Emit("msg", payload); err != nil {
				return err
			}
		}
		return nil
	})
	if *debug != "" {
		go http.ListenAndServe(*debug, nil) // net/http/pprof's handlers are on the default mux
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("listening", ln.Addr())
	go func() {
		// Exit when the harness goes away.
		bufio.NewReader(os.Stdin).ReadString('\n')
		pprof.StopCPUProfile()
		os.Exit(0)
	}()
	if *useLoop {
		mux := engineio.NewLoopMux()
		mux.Handle("/socket.io/", io.Engine())
		log.Fatal(mux.Server().Serve(ln))
	}
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", io)
	log.Fatal(http.Serve(ln, mux))
}
