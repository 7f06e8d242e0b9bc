package interop

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/client"
	"github.com/rfc6455/ws/server"
)

// agentPeer is a peer whose agent runs as a process: Node's ws (agent.js)
// or Python's websockets (agent.py), as a client or as a server.
type agentPeer struct {
	name    string   // "Node ws 8.23.0"
	argv    []string // interpreter and script
	caps    caps
	install string
	// env returns the environment that makes the peer trust the test CA.
	env func(p *pki) []string
}

// TestNode runs every case against Node.js's ws, both directions.
func TestNode(t *testing.T) {
	const install = "bash interop/install.sh (or only this peer: cd interop && npm ci, with Debian's nodejs and npm)"
	node, err := exec.LookPath("node")
	if err != nil {
		missingPeer(t, "Node ws", err, install)
	}
	out, err := exec.Command(node, "-e", "process.stdout.write(require('ws/package.json').version)").CombinedOutput()
	if err != nil {
		missingPeer(t, "Node ws", fmt.Errorf("%v %s", err, bytes.TrimSpace(out)), install)
	}
	p := &agentPeer{
		name: "Node ws " + string(out),
		argv: []string{node, "agent.js"},
		caps: caps{
			peerPing: true, peerFragments: true, pingBetween: true, closeNoStatus: true,
			seesPings: true, created: true, invalidUTF8: true,
			failsWithoutSubprotocol: true, offersDeflate: true,
		},
		install: install,
		// Node's TLS adds the certificates of this file to its roots.
		env: func(p *pki) []string { return []string{"NODE_EXTRA_CA_CERTS=" + p.caFile} },
	}
	runAgentPeer(t, p)
}

// TestPython runs every case against Python's websockets, both directions.
func TestPython(t *testing.T) {
	const install = "bash interop/install.sh (or only this peer: apt-get install -y python3-websockets)"
	py := os.Getenv("INTEROP_PYTHON")
	if py == "" {
		// Debian's python3-websockets is installed for Debian's python3,
		// which another python3 earlier in PATH would not see.
		py = "/usr/bin/python3"
		if _, err := os.Stat(py); err != nil {
			py = "python3"
		}
	}
	out, err := exec.Command(py, "-c", "import websockets, websockets.legacy.client; print(websockets.__version__, end='')").CombinedOutput()
	if err != nil {
		missingPeer(t, "Python websockets", fmt.Errorf("%s: %v %s", py, err, bytes.TrimSpace(out)), install)
	}
	p := &agentPeer{
		name: "Python websockets " + string(out),
		argv: []string{py, "agent.py"},
		caps: caps{
			peerPing: true, peerFragments: true, pingBetween: true,
			seesPings: true, offersDeflate: true,
		},
		install: install,
		env:     func(*pki) []string { return nil }, // the CA goes in the agent's configuration
	}
	runAgentPeer(t, p)
}

// runAgentPeer runs the case matrix: direction, scheme, compression, case.
func runAgentPeer(t *testing.T, p *agentPeer) {
	t.Logf("peer: %s", p.name)
	pk := newPKI(t)
	for _, ourServer := range []bool{true, false} {
		dir := "our-client"
		if ourServer {
			dir = "our-server"
		}
		t.Run(dir, func(t *testing.T) {
			for _, scheme := range []string{"ws", "wss"} {
				t.Run(scheme, func(t *testing.T) {
					for _, mode := range compressionModes {
						t.Run(mode.name, func(t *testing.T) {
							for _, c := range cases {
								t.Run(c.name, func(t *testing.T) {
									where := describe(p.name, ourServer, scheme, mode, c.name)
									if c.needs != nil {
										if why := c.needs(p.caps, ourServer); why != "" {
											t.Skipf("%s: %s", where, why)
										}
									}
									s := p.connect(t, where, ourServer, scheme, mode, c, pk)
									runCase(s, c)
								})
							}
						})
					}
				})
			}
		})
	}
}

// describe says where a failure happened: peer, direction, scheme,
// compression and case.
func describe(peer string, ourServer bool, scheme string, mode compression, name string) string {
	dir := "our client → " + peer + " server"
	if ourServer {
		dir = peer + " client → our server"
	}
	return fmt.Sprintf("[%s, %s, %s, case %s]", dir, scheme, mode.name, name)
}

// connect opens the connection of one case: the peer's agent and our side,
// in the direction asked, and returns the session over it.
func (p *agentPeer) connect(t *testing.T, where string, ourServer bool, scheme string, mode compression, c tcase, pk *pki) *session {
	ctx, cancel := context.WithTimeout(context.Background(), caseTimeout)
	t.Cleanup(cancel)
	rec := &recorder{}
	s := &session{
		t: t, ctx: ctx, where: where, step: "opening handshake",
		caps: p.caps, mode: mode, protos: c.protos, rec: rec, ourServer: ourServer,
	}
	var protos *protoSet
	if c.protos != nil {
		protos = c.protos
	} else {
		protos = &protoSet{}
	}
	cfg := map[string]any{"compression": mode.peerOffers}

	if ourServer {
		type accepted struct {
			c   *ws.Conn
			h   http.Header
			err error
		}
		acc := make(chan accepted, 1)
		opts := &server.Options{Conn: connOptions(rec, c), Subprotocols: protos.ourServer, Compression: mode.serverCompression()}
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			conn, err := server.Accept(w, r, opts)
			select {
			case acc <- accepted{conn, r.Header.Clone(), err}:
			default:
				if conn != nil {
					conn.CloseNow()
				}
			}
		}))
		if scheme == "wss" {
			srv.TLS = &tls.Config{Certificates: []tls.Certificate{pk.cert}}
			srv.StartTLS()
		} else {
			srv.Start()
		}
		t.Cleanup(srv.Close)
		cfg["mode"] = "client"
		cfg["url"] = fmt.Sprintf("%s://%s/%s", scheme, srv.Listener.Addr(), t.Name())
		cfg["protocols"] = protos.offer
		cfg["ca"] = pk.caFile
		a := p.start(t, cfg, p.env(pk))
		s.events = a.events
		for s.c == nil {
			select {
			case r := <-acc:
				if r.err != nil {
					s.fatalf("our server.Accept: %v%s", r.err, s.peerNews())
				}
				s.c = r.c
				s.offeredExtensions = r.h.Get("Sec-WebSocket-Extensions")
				t.Cleanup(func() { s.c.CloseNow() })
			case e, ok := <-a.events:
				if !ok || e.Ev == "error" {
					s.fatalf("the peer's client failed before our server accepted it: %v%s", e, a.exitNews())
				}
				s.seen = append(s.seen, e)
			case <-ctx.Done():
				s.fatalf("no connection from the peer's client: %v%s", ctx.Err(), s.peerNews())
			}
		}
	} else {
		cfg["mode"] = "server"
		cfg["protocols"] = protos.peerServer
		if scheme == "wss" {
			cfg["tls"] = map[string]string{"cert": pk.certFile, "key": pk.keyFile}
		}
		a := p.start(t, cfg, nil)
		s.events = a.events
		s.do("starting the peer's server")
		l := s.event("listening")
		s.do("opening handshake")
		url := fmt.Sprintf("%s://127.0.0.1:%d/%s", scheme, l.Port, t.Name())
		copts := &client.Options{
			Conn:         connOptions(rec, c),
			Subprotocols: protos.offer,
			Compression:  mode.clientCompression(),
			Proxy:        client.NoProxy,
			TLSConfig:    &tls.Config{RootCAs: pk.roots},
		}
		conn, resp, err := client.Dial(ctx, url, copts)
		if err != nil {
			s.fatalf("our client.Dial(%s): %v%s", url, err, s.peerNews())
		}
		s.c = conn
		t.Cleanup(func() { s.c.CloseNow() })
		s.responseExtension = resp.Header.Get("Sec-WebSocket-Extensions")
	}
	if p.caps.created && ourServer {
		s.checkState(s.event("created"), 0)
	}
	s.open = s.event("open")
	if !ourServer {
		s.offeredExtensions = s.open.OfferedExtensions
	}
	return s
}

// agent is a running agent process.
type agent struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	events chan event
	stderr *syncBuffer
	done   chan struct{}
}

// start runs the peer's agent with configuration cfg; it is stopped when
// the test ends.
func (p *agentPeer) start(t *testing.T, cfg map[string]any, env []string) *agent {
	t.Helper()
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(p.argv[0], append(p.argv[1:], string(b))...)
	cmd.Env = append(os.Environ(), env...)
	// A group of its own, so that stop reaches whatever it started; and
	// killed if the test binary dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	a := &agent{cmd: cmd, events: make(chan event, 64), stderr: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stderr = a.stderr
	if a.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", p.name, err)
	}
	go func() {
		defer close(a.done)
		defer close(a.events)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var e event
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
				e = event{Ev: "error", Message: "agent printed: " + sc.Text()}
			}
			a.events <- e
		}
		io.Copy(io.Discard, stdout)
		if err := cmd.Wait(); err != nil {
			a.events <- event{Ev: "exit", Message: fmt.Sprintf("%v; stderr: %s", err, a.stderr)}
		}
	}()
	t.Cleanup(func() {
		if err := a.stop(); err != nil {
			t.Errorf("stopping %s: %v", p.name, err)
		}
	})
	return a
}

// stop ends the agent: its standard input closes, and if it has not exited
// 10 s later, its process group is killed. Its remaining events are
// dropped.
func (a *agent) stop() error {
	a.stdin.Close()
	var killed atomic.Bool
	kill := time.AfterFunc(10*time.Second, func() {
		killed.Store(true)
		syscall.Kill(-a.cmd.Process.Pid, syscall.SIGKILL)
	})
	for range a.events {
	}
	<-a.done
	if !kill.Stop() && killed.Load() {
		return errors.New("it did not exit when its standard input closed; killed")
	}
	return nil
}

// exitNews reports the agent's standard error, for failures at its start.
func (a *agent) exitNews() string {
	select {
	case <-a.done:
	case <-time.After(2 * time.Second):
	}
	if s := strings.TrimSpace(a.stderr.String()); s != "" {
		return "; its stderr: " + s
	}
	return ""
}

// syncBuffer is a bytes.Buffer safe for a writer and readers at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
