// Command siocluster is a Socket.IO chat server (package socketio) whose
// rooms span several servers joined by NATS (package natsbroker), to run
// behind a load balancer with sticky sessions: haproxy.cfg beside this file
// balances 127.0.0.1:3000 over two servers on ports 3001 and 3002, with a
// cookie that keeps each client's Engine.IO session on one server (needed
// for long-polling).
//
// From the natsbroker folder, in four terminals (HAProxy from Debian's
// haproxy package):
//
//	go run ./siocluster -addr 127.0.0.1:3001 -id s1 -embedded-nats   # server s1, and NATS on 127.0.0.1:4222
//	go run ./siocluster -addr 127.0.0.1:3002 -id s2                  # server s2
//	haproxy -db -f siocluster/haproxy.cfg                            # the balancer, on 127.0.0.1:3000
//	go run ./siocluster -client http://127.0.0.1:3000 -room lobby    # a client: type lines
//
// Start several clients: each says which server it landed on, and lines
// typed in one reach the others in the same room, whichever server they
// are on. Stop s1 (Ctrl-C): its clients reconnect through the balancer to
// s2, rejoin their room, and the room works again. The browser's or Node's
// socket.io-client works the same way (with withCredentials: true for the
// balancer's cookie in Node).
//
// Events: "join" (room; acknowledged with the server's id), "say"
// ({room, text}: "said" {text, from, server} to the room on every server),
// "who" (acknowledged with every server's sockets, FetchAllSockets; a
// server that died is waited for until the others count it gone, after
// -heartbeat-timeout, and then left out).
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/rfc6455/ws/natsbroker"
	"github.com/rfc6455/ws/socketio"
	"github.com/rfc6455/ws/socketio/client"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "siocluster:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("siocluster", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:3001", "listen address of the server")
	id := fs.String("id", "", "server id in the cluster (default: -addr)")
	natsURL := fs.String("nats", "nats://127.0.0.1:4222", "NATS server URL")
	embedded := fs.Bool("embedded-nats", false, "start a NATS server in this process, listening at -nats")
	clientURL := fs.String("client", "", "run as a client of this URL instead")
	room := fs.String("room", "lobby", "the client's room")
	hbInterval := fs.Duration("heartbeat-interval", socketio.DefaultHeartbeatInterval, "how often the server tells the cluster it is alive")
	hbTimeout := fs.Duration("heartbeat-timeout", socketio.DefaultHeartbeatTimeout, "how long a silent server is waited for before the others count it gone")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *clientURL != "" {
		return runClient(ctx, *clientURL, *room, stdin, stdout)
	}
	if *id == "" {
		*id = *addr
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if *embedded {
		ns, err := startNATS(*natsURL)
		if err != nil {
			return err
		}
		defer ns.Shutdown()
	}
	broker, err := natsbroker.Connect(*natsURL, &natsbroker.Options{
		Name:                 "siocluster " + *id,
		Logger:               log,
		RetryOnFailedConnect: true,
	})
	if err != nil {
		return err
	}
	defer broker.Close()
	io := newServer(*id, broker, &socketio.ClusterOptions{HeartbeatInterval: *hbInterval, HeartbeatTimeout: *hbTimeout}, log)
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", io)
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "server %s listening on %s\n", *id, ln.Addr())
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	io.Shutdown(sctx)
	return hs.Shutdown(sctx)
}

// said is a chat line as the room receives it.
type said struct {
	Text   string `json:"text"`
	From   string `json:"from"`   // the sender's socket id
	Server string `json:"server"` // the server the sender is connected to
}

// newServer returns the chat server, one of a cluster through broker.
func newServer(id string, broker *natsbroker.Broker, cluster *socketio.ClusterOptions, log *slog.Logger) *socketio.Server {
	io := socketio.NewServer(&socketio.Options{Broker: broker, ServerID: id, Cluster: cluster, Logger: log})
	io.OnConnection(func(s *socketio.Socket) {
		s.Emit("hello", map[string]string{"server": id, "id": s.ID()})
	})
	socketio.OnAck(io, "join", func(ctx context.Context, s *socketio.Socket, room string) (string, error) {
		s.Join(room)
		return id, nil
	})
	socketio.OnAck(io, "say", func(ctx context.Context, s *socketio.Socket, m struct {
		Room string `json:"room"`
		Text string `json:"text"`
	}) (string, error) {
		return id, io.To(m.Room).Emit("said", said{Text: m.Text, From: s.ID(), Server: id})
	})
	socketio.OnAck(io, "who", func(ctx context.Context, s *socketio.Socket, _ struct{}) ([]socketio.RemoteSocket, error) {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		return io.FetchAllSockets(ctx)
	})
	return io
}

func startNATS(natsURL string) (*server.Server, error) {
	u, err := url.Parse(natsURL)
	if err != nil {
		return nil, err
	}
	port, err := strconv.Atoi(u.Port())
	if err != nil {
		port = 4222
	}
	ns, err := server.NewServer(&server.Options{Host: u.Hostname(), Port: port, NoSigs: true, NoLog: true})
	if err != nil {
		return nil, err
	}
	ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		return nil, errors.New("the embedded NATS server did not start")
	}
	return ns, nil
}

// runClient is a line chat client (package socketio/client): it joins the
// room on every connection, prints what the room says, and says each line
// read.
func runClient(ctx context.Context, url, room string, stdin io.Reader, stdout io.Writer) error {
	m, err := client.NewManager(url, nil)
	if err != nil {
		return err
	}
	defer m.Close()
	s := m.Socket("/", nil)
	client.On(s, "hello", func(ctx context.Context, h map[string]string) error {
		fmt.Fprintf(stdout, "connected to server %s as %s\n", h["server"], h["id"])
		return nil
	})
	client.On(s, "said", func(ctx context.Context, m said) error {
		fmt.Fprintf(stdout, "%s@%s: %s\n", m.From, m.Server, m.Text)
		return nil
	})
	s.OnConnect(func() {
		// Rooms belong to the server a socket is on: join again after
		// each (re)connection.
		go s.EmitWithAck(ctx, "join", room)
	})
	s.OnDisconnect(func(reason error) { fmt.Fprintf(stdout, "disconnected: %v\n", reason) })
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	err = s.Connect(cctx)
	cancel()
	if err != nil {
		return err
	}
	lines := bufio.NewScanner(stdin)
	for lines.Scan() {
		s.Emit(ctx, "say", map[string]string{"room": room, "text": lines.Text()})
	}
	return nil
}
