//go:build linux

// Package chromium drives headless Chromium for tests: it starts the
// browser with a fresh profile (and stops it and every process it started
// when the test ends), and speaks the Chrome DevTools Protocol over this
// module's own WebSocket client, to open pages, evaluate JavaScript in them
// and wait for conditions. Tests skip without Chromium, and fail under
// CI=true, where .ci/run installs it.
package chromium

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/client"
)

// A small Chrome DevTools Protocol client over our own WebSocket client:
// JSON-RPC-like commands {"id","method","params","sessionId"} answered by
// {"id","result"} or {"id","error"}, with events ({"method",...}) in between,
// which it ignores. Flat sessions (Target.attachToTarget with flatten) let
// one connection drive many pages.

// Browser is a DevTools connection to a running Chromium.
type Browser struct {
	conn *ws.Conn
	done chan struct{} // closed when the reader has ended

	mu      sync.Mutex
	next    int64
	pending map[int64]chan cdpReply
	err     error // why the reader ended
}

type cdpReply struct {
	ID     int64           `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// Dial connects to the browser's DevTools WebSocket.
func Dial(ctx context.Context, url string) (*Browser, error) {
	conn, _, err := client.Dial(ctx, url, &client.Options{Proxy: client.NoProxy, Conn: ws.Options{ReadLimit: 64 << 20}})
	if err != nil {
		return nil, err
	}
	c := &Browser{conn: conn, done: make(chan struct{}), pending: map[int64]chan cdpReply{}}
	go c.read()
	return c, nil
}

// read dispatches replies to their callers until the connection ends.
func (c *Browser) read() {
	defer close(c.done)
	var buf []byte
	for {
		_, msg, err := c.conn.ReadMessage(context.Background(), buf[:0])
		if err != nil {
			c.mu.Lock()
			c.err = err
			for id, ch := range c.pending {
				close(ch)
				delete(c.pending, id)
			}
			c.mu.Unlock()
			return
		}
		buf = msg
		var r cdpReply
		if json.Unmarshal(msg, &r) != nil || r.ID == 0 {
			continue // an event
		}
		c.mu.Lock()
		ch := c.pending[r.ID]
		delete(c.pending, r.ID)
		c.mu.Unlock()
		if ch != nil {
			ch <- r
		}
	}
}

// call sends a command and decodes its result into result (if not nil).
func (c *Browser) call(ctx context.Context, session, method string, params, result any) error {
	ch := make(chan cdpReply, 1)
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return c.err
	}
	c.next++
	id := c.next
	c.pending[id] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
	}()
	if params == nil {
		params = struct{}{}
	}
	req := map[string]any{"id": id, "method": method, "params": params}
	if session != "" {
		req["sessionId"] = session
	}
	b, err := json.Marshal(req)
	if err != nil {
		return err
	}
	if err := c.conn.WriteMessage(ctx, ws.Text, b); err != nil {
		return err
	}
	select {
	case r, ok := <-ch:
		if !ok {
			return fmt.Errorf("cdp %s: connection ended: %v", method, c.err)
		}
		if r.Error != nil {
			return fmt.Errorf("cdp %s: %d %s", method, r.Error.Code, r.Error.Message)
		}
		if result != nil {
			return json.Unmarshal(r.Result, result)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("cdp %s: %w", method, ctx.Err())
	}
}

// Close closes the connection and waits for the reader.
func (c *Browser) Close() {
	c.conn.Close(ws.CloseNormal, "")
	c.conn.CloseNow()
	<-c.done
}

// Page is one browser tab, driven through a flat session.
type Page struct {
	c         *Browser
	session   string
	name      string
	stateExpr string // shown when WaitFor fails
}

// OpenPage opens a new tab at url. name labels it in errors; stateExpr,
// if not empty, is a JavaScript expression whose JSON WaitFor shows when
// it fails.
func (c *Browser) OpenPage(ctx context.Context, name, url, stateExpr string) (*Page, error) {
	var target struct {
		TargetID string `json:"targetId"`
	}
	if err := c.call(ctx, "", "Target.createTarget", map[string]any{"url": url}, &target); err != nil {
		return nil, err
	}
	var att struct {
		SessionID string `json:"sessionId"`
	}
	if err := c.call(ctx, "", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &att); err != nil {
		return nil, err
	}
	return &Page{c: c, session: att.SessionID, name: name, stateExpr: stateExpr}, nil
}

// Name returns the name the page was opened with.
func (p *Page) Name() string { return p.name }

// Eval evaluates a JavaScript expression in the page and decodes its value
// (which must be JSON-serialisable) into out.
func (p *Page) Eval(ctx context.Context, expr string, out any) error {
	var r struct {
		Result struct {
			Type  string          `json:"type"`
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	err := p.c.call(ctx, p.session, "Runtime.evaluate", map[string]any{
		"expression": expr, "returnByValue": true, "awaitPromise": true,
	}, &r)
	if err != nil {
		return err
	}
	if e := r.ExceptionDetails; e != nil {
		return fmt.Errorf("%s: %s %s", p.name, e.Text, e.Exception.Description)
	}
	if out == nil || len(r.Result.Value) == 0 {
		return nil
	}
	return json.Unmarshal(r.Result.Value, out)
}

// WaitFor polls a boolean expression until it is true; on failure it
// shows the page's state.
func (p *Page) WaitFor(t *testing.T, what, expr string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var lastErr error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		var ok bool
		lastErr = p.Eval(ctx, "Boolean("+expr+")", &ok)
		cancel()
		if lastErr == nil && ok {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s: %s: not reached (last error %v); page state: %s", p.name, what, lastErr, p.state())
}

// state returns the page's state expression as JSON, for failure
// messages.
func (p *Page) state() string {
	if p.stateExpr == "" {
		return "(no state expression)"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var s string
	if err := p.Eval(ctx, "JSON.stringify("+p.stateExpr+")", &s); err != nil {
		return err.Error()
	}
	return s
}

// chromiumFlags run Chromium headless without the sandbox (CI runs as
// root) and without the background connections that hang on a machine with
// no network.
var chromiumFlags = []string{
	"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
	"--disable-background-networking", "--disable-component-update", "--disable-sync",
	"--disable-dev-shm-usage", "--no-proxy-server", "--disable-extensions",
	"--no-default-browser-check", "--mute-audio", "--remote-debugging-port=0",
	// Pages in background tabs keep their timers: tests open several at
	// once, and throttled timers (a second at the least) would fire late.
	"--disable-background-timer-throttling", "--disable-renderer-backgrounding",
	"--disable-backgrounding-occluded-windows",
}

const chromiumInstall = "bash interop/install.sh (or apt-get update && apt-get install -y chromium)"

// Start starts headless Chromium with remote debugging and returns
// the DevTools WebSocket URL. The cleanup stops Chromium and every process
// of its group, and reaps them.
func Start(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		if bin, err = exec.LookPath("chromium-browser"); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("chromium is not installed, and CI must have it (%v): %s", err, chromiumInstall)
			}
			t.Skipf("chromium is not installed (%v); install it with: %s", err, chromiumInstall)
		}
	}
	// Helpers that lose their parent come to this process instead of
	// init, so that the cleanup can reap them.
	if err := prctlSubreaper(1); err == nil {
		t.Cleanup(func() { prctlSubreaper(0) })
	}
	home := t.TempDir()
	args := append(chromiumFlags, "--user-data-dir="+filepath.Join(home, "profile"), "about:blank")
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "HOME="+home)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	pgid := cmd.Process.Pid

	var logMu sync.Mutex
	var logLines []string
	urlCh := make(chan string, 1)
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			if u, ok := strings.CutPrefix(line, "DevTools listening on "); ok {
				select {
				case urlCh <- strings.TrimSpace(u):
				default:
				}
			}
			logMu.Lock()
			if len(logLines) < 200 {
				logLines = append(logLines, line)
			}
			logMu.Unlock()
		}
		io.Copy(io.Discard, stderr)
	}()
	exited := make(chan struct{})
	go func() {
		<-scanned // Wait closes the pipe: read it all first
		cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
		}
		syscall.Kill(-pgid, syscall.SIGKILL)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			t.Errorf("chromium still running 10 s after SIGKILL")
		}
		if left := reapGroup(pgid); len(left) > 0 {
			t.Errorf("chromium processes %v outlived it", left)
		}
		if t.Failed() {
			logMu.Lock()
			t.Logf("chromium output:\n%s", strings.Join(logLines, "\n"))
			logMu.Unlock()
		}
	})
	select {
	case u := <-urlCh:
		return u
	case <-exited:
		t.Fatal("chromium exited before opening its DevTools port")
	case <-time.After(60 * time.Second):
		t.Fatal("chromium did not open its DevTools port within 60 s")
	}
	return ""
}

// prctlSubreaper sets or clears PR_SET_CHILD_SUBREAPER (36).
func prctlSubreaper(on uintptr) error {
	if _, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, 36, on, 0); e != 0 {
		return e
	}
	return nil
}

// reapGroup kills what is left of process group pgid, reaps the zombies
// that are ours, and returns the processes still alive.
func reapGroup(pgid int) []int {
	var left []int
	for range 100 {
		syscall.Kill(-pgid, syscall.SIGKILL)
		left = left[:0]
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			pid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
			if err != nil {
				continue
			}
			// pid (comm) state ppid pgrp ...: comm may hold spaces.
			s := string(b)
			f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
			if len(f) < 3 {
				continue
			}
			ppid, _ := strconv.Atoi(f[1])
			pg, _ := strconv.Atoi(f[2])
			if pg != pgid {
				continue
			}
			if f[0] == "Z" {
				if ppid == os.Getpid() {
					var st syscall.WaitStatus
					syscall.Wait4(pid, &st, syscall.WNOHANG, nil)
				}
				continue
			}
			left = append(left, pid)
		}
		if len(left) == 0 {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return left
}
