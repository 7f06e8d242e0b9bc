package interop

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/deflate"
	"github.com/rfc6455/ws/server"
)

// wasmPage runs the Go program compiled to WebAssembly with the Go
// toolchain's wasm_exec.js, and reports a failure to load it as a check.
const wasmPage = `<!doctype html>
<meta charset="utf-8">
<title>ws: Go client in WebAssembly</title>
<script src="/wasm_exec.js"></script>
<script>
const go = new Go();
WebAssembly.instantiateStreaming(fetch("/client.wasm"), go.importObject)
  .then((r) => go.run(r.instance))
  .catch((e) => fetch("/check", { method: "POST", body: JSON.stringify({ name: "load", ok: false, detail: String(e) }) })
    .then(() => fetch("/done", { method: "POST", body: "{}" })));
</script>
`

// buildWasm compiles pkg for GOOS=js GOARCH=wasm into dir and returns the
// binary's path and the toolchain's wasm_exec.js.
func buildWasm(t *testing.T, pkg, dir string) (wasm, execJS string) {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command builds the WebAssembly client: %v", err)
	}
	wasm = filepath.Join(dir, "client.wasm")
	cmd := exec.Command(goBin, "build", "-o", wasm, pkg)
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("GOOS=js GOARCH=wasm go build %s: %v\n%s", pkg, err, out)
	}
	out, err := exec.Command(goBin, "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	// Go 1.24 moved it from misc/wasm to lib/wasm.
	execJS = filepath.Join(strings.TrimSpace(string(out)), "lib", "wasm", "wasm_exec.js")
	if _, err := os.Stat(execJS); err != nil {
		t.Fatalf("wasm_exec.js of the toolchain: %v", err)
	}
	return wasm, execJS
}

// wasmCheck is one observation of the program in the page.
type wasmCheck struct {
	Name   string        `json:"name"`
	OK     bool          `json:"ok"`
	Detail string        `json:"detail"`
	at     time.Duration // since the browser started, when it came
}

// TestWasmClient runs this module's client, compiled to WebAssembly, in
// headless Chromium, where client.Dial and ws.Conn use the browser's
// WebSocket, against this module's server: echoes of text and binary up to
// 16 MiB (and up to 1 MiB with permessage-deflate, and over wss://),
// subprotocols, the compression the browser negotiated, BufferedAmount and the wait for the send buffer, contexts and
// deadlines, the errors for what a page cannot do, the server's close code
// and reason, the page's close seen by the server, the read limit, a
// refused handshake and NetConn. The program (testdata/wasmclient) posts
// each check back here.
func TestWasmClient(t *testing.T) {
	// The build comes first: a broken js/wasm build fails the test even
	// where no browser is installed.
	wasmFile, execJS := buildWasm(t, "./testdata/wasmclient", t.TempDir())
	bin, err := lookPathAny("chromium", "chromium-browser")
	if err != nil {
		missingPeer(t, "Chromium", err, browserInstall)
	}
	certutil, err := exec.LookPath("certutil")
	if err != nil {
		missingPeer(t, "Chromium", fmt.Errorf("certutil, to make Chromium trust the test CA: %w", err), browserInstall)
	}
	pk := newPKI(t)

	var mu sync.Mutex
	var conns []*ws.Conn
	track := func(c *ws.Conn) {
		mu.Lock()
		conns = append(conns, c)
		mu.Unlock()
	}
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.CloseNow()
		}
	})
	// The page's origin is the plain server's; the secure one is another
	// port.
	plainOpts := &server.Options{Subprotocols: []string{"v1.echo"}, CheckOrigin: func(*http.Request) bool { return true }}
	opts := &server.Options{
		Subprotocols: []string{"v1.echo"},
		Compression:  &deflate.ServerConfig{},
		CheckOrigin:  func(*http.Request) bool { return true },
	}
	checks := make(chan wasmCheck, 256)
	done := make(chan json.RawMessage, 1)
	clientClose := make(chan error, 1)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, wasmPage)
	})
	mux.HandleFunc("GET /wasm_exec.js", func(w http.ResponseWriter, r *http.Request) { http.ServeFile(w, r, execJS) })
	mux.HandleFunc("GET /client.wasm", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/wasm") // instantiateStreaming needs it
		http.ServeFile(w, r, wasmFile)
	})
	echo := func(w http.ResponseWriter, r *http.Request) {
		o := opts
		if r.URL.Path == "/plain" {
			o = plainOpts
		}
		c, err := server.Accept(w, r, o)
		if err != nil {
			return
		}
		track(c)
		go func() {
			ctx := context.Background()
			var buf []byte
			for {
				typ, msg, err := c.ReadMessage(ctx, buf)
				if err != nil {
					return
				}
				if c.WriteMessage(ctx, typ, msg) != nil {
					return
				}
				buf = msg
			}
		}()
	}
	mux.HandleFunc("GET /echo", echo)  // with permessage-deflate
	mux.HandleFunc("GET /plain", echo) // without
	mux.HandleFunc("GET /bye", func(w http.ResponseWriter, r *http.Request) {
		c, err := server.Accept(w, r, opts)
		if err != nil {
			return
		}
		track(c)
		go func() {
			c.WriteMessage(context.Background(), ws.Text, []byte("bye soon"))
			c.Close(4001, "server closing: ✓ done")
		}()
	})
	mux.HandleFunc("GET /client-close", func(w http.ResponseWriter, r *http.Request) {
		c, err := server.Accept(w, r, opts)
		if err != nil {
			return
		}
		track(c)
		go func() {
			var err error
			for err == nil {
				_, _, err = c.ReadMessage(context.Background(), nil)
			}
			select {
			case clientClose <- err:
			default:
			}
		}()
	})
	mux.HandleFunc("GET /refuse", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no WebSocket here", http.StatusForbidden)
	})
	mux.HandleFunc("POST /check", func(w http.ResponseWriter, r *http.Request) {
		var c wasmCheck
		if err := json.NewDecoder(r.Body).Decode(&c); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		select {
		case checks <- c:
		default:
			t.Errorf("more checks than the test reads: %+v", c)
		}
	})
	mux.HandleFunc("POST /done", func(w http.ResponseWriter, r *http.Request) {
		var m json.RawMessage
		json.NewDecoder(r.Body).Decode(&m)
		select {
		case done <- m:
		default:
		}
	})
	// The page's fetches carry no CORS preflight: it posts to its origin.
	plain := httptest.NewServer(mux)
	t.Cleanup(plain.Close)
	secure := httptest.NewUnstartedServer(mux)
	secure.TLS = &tls.Config{Certificates: []tls.Certificate{pk.cert}}
	secure.StartTLS()
	t.Cleanup(secure.Close)

	start := time.Now()
	startChromium(t, bin, certutil, plain.URL+"/?wss="+secure.Listener.Addr().String(), pk)
	var got []wasmCheck
	timeout := time.After(5 * time.Minute)
	for finished := false; !finished; {
		select {
		case c := <-checks:
			c.at = time.Since(start)
			got = append(got, c)
		case m := <-done:
			// Every check was posted before done.
			for len(checks) > 0 {
				c := <-checks
				c.at = time.Since(start)
				got = append(got, c)
			}
			t.Logf("page: %s", m)
			finished = true
		case <-timeout:
			t.Errorf("the page did not finish within 5 minutes; %d checks came", len(got))
			finished = true
		}
	}
	for _, c := range got {
		if c.OK {
			t.Logf("%7.3fs ok   %s %s", c.at.Seconds(), c.Name, c.Detail)
		} else {
			t.Errorf("%7.3fs FAIL %s: %s", c.at.Seconds(), c.Name, c.Detail)
		}
	}
	if len(got) < 50 {
		t.Errorf("only %d checks ran", len(got))
	}
	select {
	case err := <-clientClose:
		var ce *ws.CloseError
		if !errors.As(err, &ce) || ce.Code != 4000 || ce.Reason != "client says ✓ bye" {
			t.Errorf("the server saw the page's close as %v, want 4000 \"client says ✓ bye\"", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("the server did not see the page's close")
	}
	t.Logf("%d checks in %v", len(got), time.Since(start).Round(time.Millisecond))
}
