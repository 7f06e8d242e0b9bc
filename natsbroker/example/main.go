// Command example is a chat server whose rooms span several servers joined
// by NATS, with a client mode to try it.
//
// Run two servers and a NATS server (started inside the first with
// -embedded-nats, so nothing needs installing), from the natsbroker folder:
//
//	go run ./example -addr 127.0.0.1:8081 -embedded-nats   # server A, and NATS on 127.0.0.1:4222
//	go run ./example -addr 127.0.0.1:8082                  # server B
//	go run ./example -client 'ws://127.0.0.1:8081/ws?room=lobby'
//	go run ./example -client 'ws://127.0.0.1:8082/ws?room=lobby'
//
// Lines typed into one client appear in the other, through server A, NATS
// and server B. Each server serves its hub's counters at /metrics (JSON, or
// ?format=prometheus) and its broker's at /metrics/nats. Stop server A and
// server B reports the outage and goes on serving its own clients; start A
// again and the cluster is whole again.
//
// Or see it all in one process, which exits when done:
//
//	go run ./example -demo
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
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
	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/client"
	"github.com/rfc6455/ws/hub"
	"github.com/rfc6455/ws/natsbroker"
	wsserver "github.com/rfc6455/ws/server"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "example:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("example", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8081", "address to serve WebSockets on (`host:port`)")
	natsURL := fs.String("nats", "nats://127.0.0.1:4222", "NATS server `url`")
	embedded := fs.Bool("embedded-nats", false, "start a NATS server in this process, listening at -nats")
	id := fs.String("id", "", "server ID in the cluster (default: -addr)")
	dial := fs.String("client", "", "run as a client of the WebSocket `url`: send stdin's lines, print what comes")
	demo := fs.Bool("demo", false, "run NATS, two servers and two clients in this process, and exit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case *dial != "":
		return runClient(ctx, *dial, stdin, stdout)
	case *demo:
		return runDemo(ctx, stdout)
	}
	if *embedded {
		host, port, err := hostPort(*natsURL)
		if err != nil {
			return err
		}
		ns, err := startNATS(host, port)
		if err != nil {
			return err
		}
		defer func() { ns.Shutdown(); ns.WaitForShutdown() }()
		slog.Info("embedded NATS server started", "url", ns.ClientURL())
	}
	if *id == "" {
		*id = *addr
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv, err := newServer(*id, *natsURL, slog.Default())
	if err != nil {
		ln.Close()
		return err
	}
	slog.Info("serving", "ws", "ws://"+ln.Addr().String()+"/ws?room=lobby", "metrics", "http://"+ln.Addr().String()+"/metrics")
	return srv.serve(ctx, ln)
}

// hostPort returns the host and port of a NATS URL: 127.0.0.1 and 4222
// where it names none.
func hostPort(rawURL string) (string, int, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", 0, err
	}
	host, port := u.Hostname(), 4222
	if host == "" {
		host = "127.0.0.1"
	}
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil {
			return "", 0, err
		}
	}
	return host, port, nil
}

// startNATS starts a NATS server on host and port (-1: a free port).
func startNATS(host string, port int) (*server.Server, error) {
	ns, err := server.NewServer(&server.Options{Host: host, Port: port, NoSigs: true, NoLog: true})
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

// chatServer is one server of the cluster: a hub whose broadcasts go
// through NATS, served over HTTP.
type chatServer struct {
	h      *hub.Hub
	broker *natsbroker.Broker
	ws     *wsserver.Server
	http   *http.Server
}

func newServer(id, natsURL string, log *slog.Logger) (*chatServer, error) {
	broker, err := natsbroker.Connect(natsURL, &natsbroker.Options{
		Name:                 "chat " + id,
		Logger:               log,
		RetryOnFailedConnect: true, // start before NATS does; connect when it is up
	})
	if err != nil {
		return nil, err
	}
	s := &chatServer{broker: broker}
	s.h = hub.New(&hub.Options{
		ServerID: id,
		Broker:   broker,
		Logger:   log,
		OnConnect: func(c *hub.Client) {
			rooms, _ := c.Data().([]string)
			if len(rooms) == 0 {
				rooms = []string{"lobby"}
			}
			c.Join(rooms...)
		},
		// A message goes to the sender's rooms, on every server, all but
		// the sender; text stays text and binary stays binary.
		OnMessage: func(c *hub.Client, typ ws.MessageType, data []byte) {
			if typ == ws.Text {
				data = fmt.Appendf(nil, "%s@%s: %s", c.User(), id, bytes.TrimSpace(data))
			} else {
				data = bytes.Clone(data)
			}
			pm, err := ws.NewPreparedMessage(typ, data)
			if err != nil {
				return
			}
			for _, r := range c.Rooms() {
				c.Namespace().Room(r).Broadcast(pm, c)
			}
		},
	})
	s.ws = &wsserver.Server{Handle: func(c *ws.Conn, r *http.Request) {
		q := r.URL.Query()
		user := q.Get("user")
		if user == "" {
			user = "anon"
		}
		s.h.Serve(r.Context(), c, hub.Info{User: user, Data: q["room"]})
	}}
	mux := http.NewServeMux()
	mux.Handle("/ws", s.ws)
	mux.Handle("/metrics", s.h.MetricsHandler("chat"))
	mux.HandleFunc("/metrics/nats", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(broker.Stats())
	})
	s.http = wsserver.NewHTTPServer("", mux) // 431 past 32 KiB of header, header and idle timeouts
	return s, nil
}

// serve serves on ln until ctx ends, then shuts down: clients get 1001,
// the hub's last publications go out, and the broker closes.
func (s *chatServer) serve(ctx context.Context, ln net.Listener) error {
	errc := make(chan error, 1)
	go func() { errc <- s.http.Serve(ln) }()
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	wsserver.Shutdown(sctx, s.http, s.ws) // every client's 1001 at once, net/http drains beside it
	s.h.Shutdown(sctx)
	s.broker.Close()
	if err == nil {
		err = <-errc
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// runClient sends stdin's lines to url and prints the messages that come,
// until stdin ends or ctx does.
func runClient(ctx context.Context, url string, stdin io.Reader, stdout io.Writer) error {
	c, _, err := client.Dial(ctx, url, nil)
	if err != nil {
		return err
	}
	defer c.CloseNow()
	done := make(chan error, 1)
	go func() {
		for {
			_, msg, err := c.ReadMessage(context.Background(), nil)
			if err != nil {
				done <- err
				return
			}
			fmt.Fprintf(stdout, "%s\n", msg)
		}
	}()
	lines := make(chan string)
	go func() { // ends with stdin; a terminal's stdin ends with the process
		defer close(lines)
		sc := bufio.NewScanner(stdin)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				c.Close(ws.CloseNormal, "")
				<-done
				return nil
			}
			if err := c.WriteMessage(ctx, ws.Text, []byte(line)); err != nil {
				return err
			}
		case err := <-done:
			var ce *ws.CloseError
			if errors.As(err, &ce) {
				return nil
			}
			return err
		case <-ctx.Done():
			c.Close(ws.CloseGoingAway, "")
			<-done
			return nil
		}
	}
}

// runDemo runs an embedded NATS server, two chat servers and a client on
// each, all on 127.0.0.1, and shows a message crossing from one server to
// the other.
func runDemo(ctx context.Context, stdout io.Writer) error {
	ns, err := startNATS("127.0.0.1", -1)
	if err != nil {
		return err
	}
	defer func() { ns.Shutdown(); ns.WaitForShutdown() }()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var urls []string
	var hubs []*hub.Hub
	errc := make(chan error, 2)
	for _, id := range []string{"A", "B"} {
		s, err := newServer(id, ns.ClientURL(), quiet)
		if err != nil {
			return err
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			s.broker.Close()
			return err
		}
		urls = append(urls, "ws://"+ln.Addr().String()+"/ws?room=lobby")
		hubs = append(hubs, s.h)
		go func() { errc <- s.serve(ctx, ln) }()
		// Before any client sends, this server's subscription is in
		// place at the NATS server.
		if err := s.broker.Conn().Flush(); err != nil {
			cancel()
			<-errc
			return err
		}
	}
	defer func() { cancel(); <-errc; <-errc }()

	ann, _, err := client.Dial(ctx, urls[0]+"&user=ann", nil)
	if err != nil {
		return err
	}
	defer ann.CloseNow()
	bob, _, err := client.Dial(ctx, urls[1]+"&user=bob", nil)
	if err != nil {
		return err
	}
	defer bob.CloseNow()
	// Bob is in the lobby once server B's hub has registered him, just
	// after the handshake.
	for deadline := time.Now().Add(10 * time.Second); hubs[1].Room("lobby").Len() == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			return errors.New("bob did not join the lobby")
		}
	}
	if err := ann.WriteMessage(ctx, ws.Text, []byte("hello from server A")); err != nil {
		return err
	}
	rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
	defer rcancel()
	_, msg, err := bob.ReadMessage(rctx, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "bob, on server B, got %q\n", msg)
	return nil
}
