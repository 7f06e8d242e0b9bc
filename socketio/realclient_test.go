package socketio_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rfc6455/ws/engineio"
	"github.com/rfc6455/ws/socketio"
)

// The real client, socket.io-client 4.8 (interop/package-lock.json), runs
// testdata/scenarios.js against a Go server set up here, in Node
// (TestRealClientNode) and in headless Chromium (TestRealClientBrowser),
// over each transport: WebSocket only, polling only, and polling upgraded
// to WebSocket. Without Node, Chromium or the npm packages the tests skip;
// under CI=true, where .ci/run installs them (bash interop/install.sh),
// they fail.

// nodeModules is where interop/install.sh puts the npm packages.
var nodeModules = filepath.Join("..", "interop", "node_modules")

// modes are the transport choices the scenarios run with.
var modes = []string{"websocket", "polling", "upgrade"}

// scenarioNames are the scenarios of testdata/scenarios.js, restart last.
var scenarioNames = []string{"connect", "json", "binary", "acks", "refused", "rooms", "volatile", "recovery", "restart"}

// missingPeer skips the test, or fails it under CI=true.
func missingPeer(t *testing.T, what string, err error) {
	t.Helper()
	msg := what + " is missing (run bash interop/install.sh): " + err.Error()
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// clientBundle returns the path of socket.io-client's browser bundle,
// checking that the npm package is installed.
func clientBundle(t *testing.T) string {
	t.Helper()
	p := filepath.Join(nodeModules, "socket.io-client", "dist", "socket.io.min.js")
	if _, err := os.Stat(p); err != nil {
		missingPeer(t, "socket.io-client", err)
	}
	return p
}

// scenarioServer is the Go side of the scenarios: a Socket.IO server at
// /socket.io/, one with connection state recovery at /recovery/socket.io/,
// and the page and scripts the browser loads. It can restart on the same
// port.
type scenarioServer struct {
	t      *testing.T
	bundle string
	loop   bool // served by a loop.Server (engineio.LoopMux)

	mu       sync.Mutex
	addr     string
	close    func() // closes every connection at once
	ios      []*socketio.Server
	served   chan struct{}
	stopped  bool
	restarts sync.WaitGroup
}

func startScenarioServer(t *testing.T, bundle string) *scenarioServer {
	return startScenarioServerOn(t, bundle, false)
}

// startScenarioServerOn is startScenarioServer; useLoop serves the
// WebSockets from the event loops of a loop.Server, and the rest (polling,
// the page) through its Fallback, on the same port.
func startScenarioServerOn(t *testing.T, bundle string, useLoop bool) *scenarioServer {
	t.Helper()
	s := &scenarioServer{t: t, bundle: bundle, addr: "127.0.0.1:0", loop: useLoop}
	if err := s.start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.stop)
	return s
}

// url returns the server's base URL.
func (s *scenarioServer) url() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return "http://" + s.addr
}

// start serves on s.addr (retrying while the port is being released).
func (s *scenarioServer) start() error {
	var ln net.Listener
	var err error
	for range 200 {
		if ln, err = net.Listen("tcp", s.addr); err == nil {
			break
		}
		time.Sleep(25 * time.Millisecond)
	}
	if err != nil {
		return err
	}
	main := socketio.NewServer(&socketio.Options{Logger: quiet()})
	s.setupMain(main)
	rec := socketio.NewServer(&socketio.Options{Logger: quiet(), Recovery: &socketio.Recovery{MaxDisconnectionDuration: time.Minute}})
	setupRecovery(rec)
	mux := http.NewServeMux()
	if !s.loop {
		mux.Handle("/socket.io/", main)
		mux.Handle("/recovery/socket.io/", rec)
	}
	mux.HandleFunc("/socket.io-client/socket.io.min.js", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, s.bundle)
	})
	mux.HandleFunc("/scenarios.js", func(w http.ResponseWriter, r *http.Request) { http.ServeFile(w, r, "testdata/scenarios.js") })
	mux.HandleFunc("/page.html", func(w http.ResponseWriter, r *http.Request) { http.ServeFile(w, r, "testdata/page.html") })
	served := make(chan struct{})
	var closeAll func()
	if s.loop {
		lm := engineio.NewLoopMux()
		lm.Handle("/socket.io/", main.Engine())
		lm.Handle("/recovery/socket.io/", rec.Engine())
		lm.HandleHTTP("/", mux)
		ls := lm.Server()
		go func() {
			defer close(served)
			ls.Serve(ln)
		}()
		closeAll = func() {
			ctx, cancel := context.WithCancel(context.Background())
			cancel() // at once
			ls.Shutdown(ctx)
		}
	} else {
		hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go func() {
			defer close(served)
			hs.Serve(ln)
		}()
		closeAll = func() { hs.Close() }
	}
	s.mu.Lock()
	s.addr, s.close, s.ios, s.served = ln.Addr().String(), closeAll, []*socketio.Server{main, rec}, served
	s.mu.Unlock()
	return nil
}

// shutdown stops serving: every connection is closed at once.
func (s *scenarioServer) shutdown() {
	s.mu.Lock()
	closeAll, ios, served := s.close, s.ios, s.served
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	closeAll()
	for _, io := range ios {
		io.Shutdown(ctx)
	}
	<-served
}

// restart stops the server and starts a new one on the same port.
func (s *scenarioServer) restart() {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return
	}
	s.restarts.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.restarts.Done()
		s.shutdown()
		time.Sleep(300 * time.Millisecond)
		s.mu.Lock()
		stopped := s.stopped
		s.mu.Unlock()
		if !stopped {
			if err := s.start(); err != nil {
				s.t.Errorf("restart: %v", err)
			}
		}
	}()
}

func (s *scenarioServer) stop() {
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
	s.restarts.Wait()
	s.shutdown()
}

// setupMain registers what the scenarios need on the main server.
func (s *scenarioServer) setupMain(io *socketio.Server) {
	io.OnConnection(func(sk *socketio.Socket) {
		sk.Emit("welcome", map[string]any{"id": sk.ID(), "auth": sk.Handshake().Auth})
	})
	socketio.OnAck(io, "echo", func(ctx context.Context, sk *socketio.Socket, args socketio.Args) (socketio.Args, error) {
		return args, nil
	})
	socketio.On(io, "send-binary", func(ctx context.Context, sk *socketio.Socket, _ struct{}) error {
		return sk.Emit("binary", []byte{0, 1, 2, 255}, map[string]any{"name": "blob", "data": socketio.Binary{9, 8}})
	})
	socketio.OnAck(io, "length", func(ctx context.Context, sk *socketio.Socket, b []byte) (int, error) {
		return len(b), nil
	})
	socketio.OnAck(io, "sum", func(ctx context.Context, sk *socketio.Socket, xs []int) (int, error) {
		n := 0
		for _, x := range xs {
			n += x
		}
		return n, nil
	})
	socketio.OnAck(io, "slow", func(ctx context.Context, sk *socketio.Socket, _ struct{}) (string, error) {
		select {
		case <-time.After(time.Second):
		case <-ctx.Done():
		}
		return "late", nil
	})
	socketio.OnAck(io, "ask", func(ctx context.Context, sk *socketio.Socket, q string) (string, error) {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		return socketio.Reply[string](sk.EmitWithAck(ctx, "question", q))
	})
	socketio.OnAck(io, "ask-ignored", func(ctx context.Context, sk *socketio.Socket, q string) (map[string]bool, error) {
		ctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		_, err := sk.EmitWithAck(ctx, "question-ignored", q)
		return map[string]bool{"timedOut": errors.Is(err, context.DeadlineExceeded)}, nil
	})
	socketio.OnAck(io, "join", func(ctx context.Context, sk *socketio.Socket, room string) (bool, error) {
		sk.Join(room)
		return true, nil
	})
	type broadcast struct {
		Form string          `json:"form"`
		Arg  json.RawMessage `json:"arg"`
		Text string          `json:"text"`
	}
	socketio.OnAck(io, "broadcast", func(ctx context.Context, sk *socketio.Socket, b broadcast) (bool, error) {
		var room string
		var rooms []string
		json.Unmarshal(b.Arg, &room)
		json.Unmarshal(b.Arg, &rooms)
		var err error
		switch b.Form {
		case "all":
			err = io.Emit("msg", b.Text)
		case "all+chat":
			err = errors.Join(io.Emit("msg", b.Text), io.Of("/chat").Emit("msg", b.Text))
		case "others":
			err = sk.Broadcast().Emit("msg", b.Text)
		case "room", "id":
			err = io.To(room).Emit("msg", b.Text)
		case "rooms":
			err = io.To(rooms...).Emit("msg", b.Text)
		case "except":
			err = io.To("red").To("blue").Except(rooms...).Emit("msg", b.Text)
		case "socket-to":
			err = sk.To(room).Emit("msg", b.Text)
		case "except-only":
			err = io.Except(rooms...).Emit("msg", b.Text)
		case "namespace":
			err = io.Of("/chat").Emit("msg", b.Text)
		default:
			return false, &socketio.Error{Code: "unknown_form", Message: b.Form}
		}
		return err == nil, err
	})
	// Volatile ticks in bursts of ten, 5 ms apart: within a burst the
	// transport is busy after the first and drops some; each burst starts
	// on a transport that had time to drain.
	socketio.On(io, "volatile-burst", func(ctx context.Context, sk *socketio.Socket, n int) error {
		for i := 1; i <= n; i++ {
			if i > 1 && i%10 == 1 {
				time.Sleep(5 * time.Millisecond)
			}
			sk.Volatile().Emit("tick", i)
		}
		return sk.Emit("ticked")
	})
	socketio.On(io, "restart-server", func(ctx context.Context, sk *socketio.Socket, _ struct{}) error {
		s.restart()
		return nil
	})
	admin := io.Of("/admin")
	admin.Use(func(ctx context.Context, sk *socketio.Socket) error {
		var auth struct{ Token string }
		if sk.Auth(&auth); auth.Token == "" {
			return &socketio.Error{Message: "not authorized", Data: map[string]string{"reason": "no token"}}
		}
		sk.SetData(auth.Token)
		return nil
	})
	socketio.OnAck(admin, "whoami", func(ctx context.Context, sk *socketio.Socket, _ struct{}) (any, error) {
		return sk.Data(), nil
	})
	io.Of("/chat")
}

// setupRecovery registers what the recovery scenario needs.
func setupRecovery(io *socketio.Server) {
	io.OnConnection(func(sk *socketio.Socket) {
		if !sk.Recovered() {
			sk.Join("news")
		}
	})
	socketio.OnAck(io, "news-now", func(ctx context.Context, sk *socketio.Socket, n int) (bool, error) {
		return true, io.To("news").Emit("news", n)
	})
	socketio.OnAck(io, "cut", func(ctx context.Context, sk *socketio.Socket, _ struct{}) (bool, error) {
		// While the client is cut off: three broadcasts to its room, one
		// to another.
		go func() {
			time.Sleep(300 * time.Millisecond)
			for i := 1; i <= 3; i++ {
				io.To("news").Emit("news", i)
				io.To("elsewhere").Emit("news", 100+i)
			}
		}()
		return true, nil
	})
}

// scenarioResult is one scenario's outcome, as scenarios.js reports it.
type scenarioResult struct {
	Name  string `json:"name"`
	OK    bool   `json:"ok"`
	MS    int    `json:"ms"`
	Error string `json:"error"`
}

// checkResults fails the test for each scenario that failed or is missing.
func checkResults(t *testing.T, who string, results []scenarioResult) {
	t.Helper()
	seen := map[string]bool{}
	for _, r := range results {
		seen[r.Name] = true
		if !r.OK {
			t.Errorf("%s: %s: %s", who, r.Name, r.Error)
		}
	}
	for _, n := range scenarioNames {
		if !seen[n] {
			t.Errorf("%s: %s did not run", who, n)
		}
	}
	if !t.Failed() {
		t.Logf("%s: %d scenarios passed", who, len(results))
	}
}

func TestRealClientNode(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		missingPeer(t, "Node", err)
	}
	bundle := clientBundle(t)
	nodePath, _ := filepath.Abs(nodeModules)
	for _, mode := range modes {
		for _, useLoop := range []bool{false, true} {
			name := mode
			if useLoop {
				name += "/loop"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				srv := startScenarioServerOn(t, bundle, useLoop)
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
				defer cancel()
				cmd := exec.CommandContext(ctx, node, "testdata/node.js", srv.url(), mode, strings.Join(scenarioNames, ","))
				cmd.Env = append(os.Environ(), "NODE_PATH="+nodePath)
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				out, err := cmd.Output()
				var results []scenarioResult
				if jerr := json.Unmarshal(bytes.TrimSpace(out), &results); jerr != nil {
					t.Fatalf("node: %v; output %q; stderr %s", err, out, stderr.Bytes())
				}
				checkResults(t, "node "+name, results)
			})
		}
	}
}
