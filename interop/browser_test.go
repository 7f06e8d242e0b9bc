package interop

import (
	"bytes"
	"context"
	"crypto/tls"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/handshake"
	"github.com/rfc6455/ws/server"
)

//go:embed testdata/browser.html testdata/browser.js
var pageFiles embed.FS

const browserInstall = "bash interop/install.sh (or only this peer: apt-get install -y chromium libnss3-tools)"

// browserCaps: a page can neither send pings nor choose how its messages
// are framed; it offers permessage-deflate on every connection.
var browserCaps = caps{closeNoStatus: true, created: true, buffered: true, offersDeflate: true, failsWithoutSubprotocol: true}

// chromiumFlags run Chromium headless and quiet: without the sandbox (it
// runs as root in CI), and without the background connections that hang on
// a machine with no network.
var chromiumFlags = []string{
	"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
	"--disable-background-networking", "--disable-component-update", "--disable-sync",
	"--disable-dev-shm-usage", "--no-proxy-server", "--disable-extensions",
	"--no-default-browser-check", "--mute-audio",
}

// TestBrowser runs the cases with headless Chromium as the client of our
// server: the page drives the browser's WebSocket API (testdata/browser.js)
// and reports its events back to the test over HTTP.
func TestBrowser(t *testing.T) {
	bin, err := lookPathAny("chromium", "chromium-browser")
	if err != nil {
		missingPeer(t, "Chromium", err, browserInstall)
	}
	certutil, err := exec.LookPath("certutil")
	if err != nil {
		missingPeer(t, "Chromium", fmt.Errorf("certutil, to make Chromium trust the test CA: %w", err), browserInstall)
	}
	pk := newPKI(t)
	h := &browserHarness{
		next:   make(chan caseSpec),
		routes: map[string]*route{},
		page:   make(chan event, 64),
	}
	plain := httptest.NewServer(h)
	t.Cleanup(plain.Close)
	secure := httptest.NewUnstartedServer(h)
	secure.TLS = &tls.Config{Certificates: []tls.Certificate{pk.cert}}
	secure.StartTLS()
	t.Cleanup(secure.Close)
	h.wsBase = "ws://" + plain.Listener.Addr().String()
	h.wssBase = "wss://" + secure.Listener.Addr().String()

	startChromium(t, bin, certutil, plain.URL+"/", pk)
	hello := h.pageEvent(t, "hello", 60*time.Second)
	peer := "Chromium"
	if i := strings.Index(hello.UserAgent, "Chrome/"); i >= 0 {
		peer += " " + strings.Fields(hello.UserAgent[i+len("Chrome/"):])[0]
	}
	t.Logf("peer: %s (%s)", peer, hello.UserAgent)

	for _, scheme := range []string{"ws", "wss"} {
		t.Run(scheme, func(t *testing.T) {
			for _, mode := range compressionModes {
				t.Run(mode.name, func(t *testing.T) {
					for _, c := range cases {
						t.Run(c.name, func(t *testing.T) {
							where := describe(peer, true, scheme, mode, c.name)
							if c.needs != nil {
								if why := c.needs(browserCaps, true); why != "" {
									t.Skipf("%s: %s", where, why)
								}
							}
							s := h.connect(t, where, scheme, mode, c)
							runCase(s, c)
						})
					}
				})
			}
		})
	}
	t.Run("handshake-refused", func(t *testing.T) {
		h.refused(t, describe(peer, true, "ws", compressionModes[0], "handshake-refused"))
	})

	// Tell the page it is done, and see that it got there.
	select {
	case h.next <- caseSpec{Done: true}:
		h.pageEvent(t, "bye", 30*time.Second)
	case <-time.After(30 * time.Second):
		t.Errorf("[%s]: the page did not ask for more cases at the end", peer)
	}
}

// lookPathAny finds the first of names in PATH; the error is the first
// name's.
func lookPathAny(names ...string) (string, error) {
	var first error
	for _, n := range names {
		p, err := exec.LookPath(n)
		if err == nil {
			return p, nil
		}
		if first == nil {
			first = err
		}
	}
	return "", first
}

// caseSpec is what the page gets from GET /next: a connection to open.
type caseSpec struct {
	Case      string   `json:"case,omitempty"`
	URL       string   `json:"url,omitempty"`
	Protocols []string `json:"protocols,omitempty"`
	Done      bool     `json:"done,omitempty"`
}

// browserHarness is the test's HTTP server for the page: it serves the
// page, hands out cases, takes the page's events, and accepts its
// WebSocket connections with server.Accept.
type browserHarness struct {
	wsBase, wssBase string
	next            chan caseSpec
	page            chan event // events of no case: hello, bye, page errors

	mu     sync.Mutex
	routes map[string]*route
}

// route is where the events and connection of one case go.
type route struct {
	events chan event
	conns  chan accepted
	opts   server.Options
}

type accepted struct {
	c   *ws.Conn
	h   http.Header
	err error
}

func (h *browserHarness) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch p := r.URL.Path; {
	case p == "/" || p == "/browser.js":
		name, ctype := "testdata/browser.html", "text/html; charset=utf-8"
		if p != "/" {
			name, ctype = "testdata/browser.js", "text/javascript; charset=utf-8"
		}
		b, err := pageFiles.ReadFile(name)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", ctype)
		w.Header().Set("Cache-Control", "no-store")
		w.Write(b)
	case p == "/next":
		// A long poll: the page waits here for its next case.
		var spec caseSpec
		select {
		case spec = <-h.next:
		case <-time.After(20 * time.Second):
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(spec)
	case p == "/event" && r.Method == http.MethodPost:
		var e event
		if err := json.NewDecoder(r.Body).Decode(&e); err != nil {
			e = event{Ev: "error", Message: "undecodable event: " + err.Error()}
		}
		h.mu.Lock()
		rt := h.routes[e.Case]
		h.mu.Unlock()
		ch := h.page
		if rt != nil {
			ch = rt.events
		}
		select {
		case ch <- e:
		default: // nobody listens any more
		}
		w.WriteHeader(http.StatusNoContent)
	case strings.HasPrefix(p, "/ws/"):
		h.mu.Lock()
		rt := h.routes[strings.TrimPrefix(p, "/ws/")]
		h.mu.Unlock()
		if rt == nil {
			http.NotFound(w, r)
			return
		}
		opts := rt.opts
		if r.TLS != nil {
			// The page comes from the plain server: another origin.
			opts.OriginPatterns = []string{"http://127.0.0.1:*"}
		}
		c, err := server.Accept(w, r, &opts)
		select {
		case rt.conns <- accepted{c, r.Header.Clone(), err}:
		default:
			if c != nil {
				c.CloseNow()
			}
		}
	default:
		http.NotFound(w, r)
	}
}

// pageEvent waits for an event of the page itself.
func (h *browserHarness) pageEvent(t *testing.T, ev string, d time.Duration) event {
	t.Helper()
	timeout := time.After(d)
	for {
		select {
		case e := <-h.page:
			if e.Ev == ev {
				return e
			}
			if e.Ev == "error" {
				t.Errorf("[Chromium]: the page reported: %s", e.Message)
			}
		case <-timeout:
			t.Fatalf("[Chromium]: no %q from the page in %v", ev, d)
		}
	}
}

// register opens the route of a case, closed when the test ends.
func (h *browserHarness) register(t *testing.T, id string, opts server.Options) *route {
	rt := &route{events: make(chan event, 256), conns: make(chan accepted, 1), opts: opts}
	h.mu.Lock()
	h.routes[id] = rt
	h.mu.Unlock()
	t.Cleanup(func() {
		h.mu.Lock()
		delete(h.routes, id)
		h.mu.Unlock()
	})
	return rt
}

// offer hands a case to the page.
func (h *browserHarness) offer(ctx context.Context, spec caseSpec) error {
	select {
	case h.next <- spec:
		return nil
	case <-ctx.Done():
		return errors.New("the page did not ask for the case (it may be stuck in the previous one)")
	}
}

// connect has the page open the connection of a case to our server and
// returns the session over it. When the case ends, the test waits for the
// page to see the connection closed, so that the page is ready for the next.
func (h *browserHarness) connect(t *testing.T, where, scheme string, mode compression, c tcase) *session {
	ctx, cancel := context.WithTimeout(context.Background(), caseTimeout)
	t.Cleanup(cancel)
	rec := &recorder{}
	s := &session{
		t: t, ctx: ctx, where: where, step: "opening handshake",
		caps: browserCaps, mode: mode, protos: c.protos, rec: rec, ourServer: true,
	}
	opts := server.Options{Conn: connOptions(rec, c), Compression: mode.serverCompression()}
	spec := caseSpec{Case: scheme + "-" + mode.name + "-" + c.name}
	if c.protos != nil {
		opts.Subprotocols = c.protos.ourServer
		spec.Protocols = c.protos.offer
	}
	rt := h.register(t, spec.Case, opts)
	s.events = rt.events
	base := h.wsBase
	if scheme == "wss" {
		base = h.wssBase
	}
	spec.URL = base + "/ws/" + spec.Case
	if err := h.offer(ctx, spec); err != nil {
		s.fatalf("%v", err)
	}
	// Whatever happens in the case, the page must be done with the
	// connection before the next case starts.
	t.Cleanup(func() { h.settle(s) })
	for s.c == nil {
		select {
		case a := <-rt.conns:
			if a.err != nil {
				s.fatalf("our server.Accept: %v%s", a.err, s.peerNews())
			}
			s.c = a.c
			s.offeredExtensions = a.h.Get("Sec-WebSocket-Extensions")
		case e := <-rt.events:
			if e.Ev == "error" || e.Ev == "close" {
				s.fatalf("the page's WebSocket failed before our server accepted it: %v%s", e, s.peerNews())
			}
			s.seen = append(s.seen, e)
		case <-ctx.Done():
			s.fatalf("no connection from the page: %v%s", ctx.Err(), s.peerNews())
		}
	}
	s.checkState(s.event("created"), 0)
	s.open = s.event("open")
	return s
}

// settle makes sure the page has seen the connection of s closed: if the
// case ended without it (it failed half-way), our side drops the
// connection and the page's close event is awaited.
func (h *browserHarness) settle(s *session) {
	if s.peerClosed {
		return
	}
	if s.c != nil {
		s.c.CloseNow()
	}
	if _, ok := s.seenEvent("close"); ok {
		return
	}
	timeout := time.After(15 * time.Second)
	for {
		select {
		case e := <-s.events:
			if e.Ev == "close" {
				return
			}
		case <-timeout:
			s.t.Errorf("%s: the page did not report the connection closed after the case", s.where)
			return
		}
	}
}

// refused: our server refuses the page's handshake (an origin it does not
// admit, 403); the page sees an error event, then a close event with 1006
// that was not clean (WebSocket API §"fail the WebSocket connection").
func (h *browserHarness) refused(t *testing.T, where string) {
	ctx, cancel := context.WithTimeout(context.Background(), caseTimeout)
	defer cancel()
	s := &session{t: t, ctx: ctx, where: where, step: "refused handshake"}
	spec := caseSpec{Case: "refused"}
	rt := h.register(t, spec.Case, server.Options{CheckOrigin: func(*http.Request) bool { return false }})
	s.events = rt.events
	s.peerClosed = true
	spec.URL = h.wsBase + "/ws/" + spec.Case
	if err := h.offer(ctx, spec); err != nil {
		s.fatalf("%v", err)
	}
	select {
	case a := <-rt.conns:
		if a.err == nil {
			a.c.CloseNow()
			s.fatalf("our server.Accept admitted a request its CheckOrigin refused")
		}
		if !errors.Is(a.err, handshake.ErrOrigin) {
			s.errorf("our server.Accept returned %v, want an error wrapping handshake.ErrOrigin", a.err)
		}
	case <-ctx.Done():
		s.fatalf("no request from the page")
	}
	s.do("the page's error event")
	s.checkState(s.event("error"), 3)
	s.do("the page's close event")
	e := s.event("close")
	if e.Code != 1006 || e.WasClean == nil || *e.WasClean {
		s.errorf("the page's close event: %v, want code 1006 and wasClean false", e)
	}
	s.checkState(e, 3)
	if _, ok := s.seenEvent("open"); ok {
		s.errorf("the page's WebSocket opened")
	}
}

// startChromium runs headless Chromium on url, in a process group of its
// own that is killed when the test ends. The test CA is added to an NSS
// database in a home directory made for the run, which Chromium on Linux
// trusts as the user's own roots: wss:// is checked as for any site, with
// no flag that turns certificate errors off.
func startChromium(t *testing.T, bin, certutil, url string, pk *pki) {
	t.Helper()
	home := t.TempDir()
	nssdb := filepath.Join(home, ".pki", "nssdb")
	if err := os.MkdirAll(nssdb, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"-d", "sql:" + nssdb, "-N", "--empty-password"},
		{"-d", "sql:" + nssdb, "-A", "-n", "rfc6455 interop test CA", "-t", "C,,", "-i", pk.caFile},
	} {
		if out, err := exec.Command(certutil, args...).CombinedOutput(); err != nil {
			t.Fatalf("[Chromium]: certutil %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	// Chromium's helpers that lose their parent come to this process
	// instead of init, so that the cleanup can reap them: no zombie is left.
	if err := setChildSubreaper(true); err != nil {
		t.Logf("[Chromium]: PR_SET_CHILD_SUBREAPER: %v (helpers may linger as zombies until init reaps them)", err)
	} else {
		t.Cleanup(func() { setChildSubreaper(false) })
	}
	args := append(slices.Clone(chromiumFlags), "--user-data-dir="+t.TempDir(), url)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "HOME="+home)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		missingPeer(t, "Chromium", err, browserInstall)
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		close(done)
	}()
	pgid := cmd.Process.Pid
	t.Cleanup(func() {
		// SIGTERM first: Chromium shuts its helpers down and reaps them.
		// Then SIGKILL for whatever is left of the group.
		syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
		}
		syscall.Kill(-pgid, syscall.SIGKILL)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Errorf("[Chromium]: still running 10 s after SIGKILL")
		}
		// Chromium's helpers are in its group; none may outlive the test,
		// and those that came to us are reaped.
		var left []int
		for range 100 {
			syscall.Kill(-pgid, syscall.SIGKILL)
			left = left[:0]
			for _, p := range groupMembers(pgid) {
				if p.zombie && p.ppid == os.Getpid() {
					var st syscall.WaitStatus
					syscall.Wait4(p.pid, &st, syscall.WNOHANG, nil)
				} else if !p.zombie {
					left = append(left, p.pid)
				}
			}
			if len(left) == 0 {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if len(left) > 0 {
			t.Errorf("[Chromium]: processes %v of its group outlived it", left)
		}
		if t.Failed() {
			t.Logf("[Chromium] output:\n%s", lastLines(out.String(), 40))
		}
	})
}

// setChildSubreaper makes this process the reaper of its orphaned
// descendants, or stops it (Linux prctl PR_SET_CHILD_SUBREAPER).
func setChildSubreaper(on bool) error {
	const prSetChildSubreaper = 36
	v := uintptr(0)
	if on {
		v = 1
	}
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, v, 0); errno != 0 {
		return errno
	}
	return nil
}

type proc struct {
	pid, ppid int
	zombie    bool
}

// groupMembers lists the processes of process group pgid, from /proc.
func groupMembers(pgid int) []proc {
	ents, _ := os.ReadDir("/proc")
	var procs []proc
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...; comm may hold spaces.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) > 2 && f[2] == strconv.Itoa(pgid) {
			ppid, _ := strconv.Atoi(f[1])
			procs = append(procs, proc{pid: pid, ppid: ppid, zombie: f[0] == "Z"})
		}
	}
	return procs
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
