//go:build linux

package main

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

type cdp struct {
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

// dialCDP connects to the browser's DevTools WebSocket.
func dialCDP(ctx context.Context, url string) (*cdp, error) {
	conn, _, err := client.Dial(ctx, url, &client.Options{Proxy: client.NoProxy, Conn: ws.Options{ReadLimit: 64 << 20}})
	if err != nil {
		return nil, err
	}
	c := &cdp{conn: conn, done: make(chan struct{}), pending: map[int64]chan cdpReply{}}
	go c.read()
	return c, nil
}

// read dispatches replies to their callers until the connection ends.
func (c *cdp) read() {
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
func (c *cdp) call(ctx context.Context, session, method string, params, result any) error {
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

// close closes the connection and waits for the reader.
func (c *cdp) close() {
	c.conn.Close(ws.CloseNormal, "")
	c.conn.CloseNow()
	<-c.done
}

// page is one browser tab, driven through a flat session.
type page struct {
	c       *cdp
	session string
	name    string
}

// openPage opens a new tab at url.
func (c *cdp) openPage(ctx context.Context, name, url string) (*page, error) {
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
	return &page{c: c, session: att.SessionID, name: name}, nil
}

// eval evaluates a JavaScript expression in the page and decodes its value
// (which must be JSON-serialisable) into out.
func (p *page) eval(ctx context.Context, expr string, out any) error {
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

// waitFor polls a boolean expression until it is true; on failure it
// shows the page's state.
func (p *page) waitFor(t *testing.T, what, expr string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var lastErr error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		var ok bool
		lastErr = p.eval(ctx, "Boolean("+expr+")", &ok)
		cancel()
		if lastErr == nil && ok {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s: %s: not reached (last error %v); page state: %s", p.name, what, lastErr, p.state())
}

// state returns window.chat as JSON, for failure messages.
func (p *page) state() string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var s string
	if err := p.eval(ctx, "JSON.stringify(window.chat)", &s); err != nil {
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
}

const chromiumInstall = "apt-get update && apt-get install -y chromium"

// startChromium starts headless Chromium with remote debugging and returns
// the DevTools WebSocket URL. The cleanup stops Chromium and every process
// of its group, and reaps them.
func startChromium(t *testing.T) string {
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
