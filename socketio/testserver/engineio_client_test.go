package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rfc6455/ws/engineio"
)

// TestEngineIOClient runs the real engine.io-client from npm (the
// transport of socket.io-client 4.x, installed into interop/node_modules
// by interop/install.sh) in Node against the agent's Engine.IO echo
// server: polling only, WebSocket only, and polling upgraded to WebSocket.
// Each sends text (non-ASCII), binary and a 200 kB message, gets them
// echoed, stays through several heartbeats and closes (testdata/eioclient.js).
func TestEngineIOClient(t *testing.T) {
	node, nodePath := clientPeer(t)
	// The agent's Engine.IO configuration and echo, but a pong wait of 5 s
	// instead of 200 ms: three Node processes and the race detector on a
	// busy machine may answer a ping late, which is not what this test is
	// about (the suite's heartbeat cases are).
	opts := engineIOOptions()
	opts.PingTimeout = 5 * time.Second
	var mu sync.Mutex
	var reasons []string
	echo := opts.Handler
	opts.Handler = engineio.HandlerFuncs{
		OnMessage: echo.Message,
		OnClose: func(s *engineio.Socket, reason error) {
			mu.Lock()
			reasons = append(reasons, s.Transport()+": "+reason.Error())
			mu.Unlock()
		},
	}
	mux := http.NewServeMux()
	mux.Handle("/engine.io/", engineio.NewServer(opts))
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	t.Cleanup(func() {
		if t.Failed() {
			mu.Lock()
			t.Logf("sessions closed: %q", reasons)
			mu.Unlock()
		}
	})
	for _, mode := range []string{"polling", "websocket", "upgrade"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			runClient(t, node, nodePath, hs.URL, mode)
		})
	}
}

// runClient runs testdata/eioclient.js in one mode and checks its report.
func runClient(t *testing.T, node, nodePath, url, mode string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "testdata/eioclient.js", url, mode)
	cmd.Env = append(os.Environ(), "NODE_PATH="+nodePath)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var res struct {
		OK         bool
		Transports []string
	}
	if jerr := json.Unmarshal(bytes.TrimSpace(out), &res); jerr != nil {
		t.Fatalf("engine.io-client: %v %s %s", err, out, stderr.Bytes())
	}
	want := map[string][]string{"polling": {"polling"}, "websocket": {"websocket"}, "upgrade": {"polling", "websocket"}}[mode]
	if !res.OK || err != nil || !slices.Equal(res.Transports, want) {
		t.Errorf("engine.io-client %s: %s (exit %v; stderr %s); want ok and transports %v", mode, out, err, stderr.Bytes(), want)
	}
}

// clientPeer returns node and the NODE_PATH where engine.io-client is. It
// skips the test when they are missing, unless in CI with socket.io-client
// in interop/package.json, where it fails.
func clientPeer(t *testing.T) (node, nodePath string) {
	t.Helper()
	nodePath = os.Getenv("EIO_CLIENT_NODE_PATH")
	if nodePath == "" {
		nodePath, _ = filepath.Abs("../../interop/node_modules")
	}
	missing := func(err error, out []byte) {
		pkg, _ := os.ReadFile("../../interop/package.json")
		v := os.Getenv("CI")
		if v != "" && v != "false" && v != "0" && bytes.Contains(pkg, []byte(`"socket.io-client"`)) {
			t.Fatalf("engine.io-client is not available in CI (%v %s); .ci/run must run bash interop/install.sh", err, out)
		}
		t.Skipf("engine.io-client is not available (%v %s): bash interop/install.sh installs it with socket.io-client, or set EIO_CLIENT_NODE_PATH to a node_modules that has it", err, out)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing(err, nil)
	}
	cmd := exec.Command(node, "-e", "require.resolve('engine.io-client')")
	cmd.Env = append(os.Environ(), "NODE_PATH="+nodePath)
	if out, err := cmd.CombinedOutput(); err != nil {
		missing(err, bytes.TrimSpace(out))
	}
	return node, nodePath
}
