package server

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/handshake"
	"golang.org/x/net/http2"
)

// Go 1.26's net/http offers RFC 8441 extended CONNECT only when GODEBUG
// holds http2xconnect=1 at start-up, so this test runs itself again in a
// child process with that setting.
func TestAcceptOverHTTP2(t *testing.T) {
	if !strings.Contains(os.Getenv("GODEBUG"), "http2xconnect=1") {
		if testing.Short() {
			t.Skip("runs a child process")
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestAcceptOverHTTP2$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), "GODEBUG=http2xconnect=1")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "--- PASS: TestAcceptOverHTTP2") {
			t.Fatalf("child process: %v\n%s", err, out)
		}
		return
	}

	results := make(chan acceptResult, 1)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := Accept(w, r, &Options{Subprotocols: []string{"chat"}})
		results <- acceptResult{c, err}
		if err != nil {
			return
		}
		echo(c)
		c.Close(ws.CloseNormal, "")
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()

	ctx := testContext(t)
	pr, pw := io.Pipe()
	req, err := http.NewRequestWithContext(ctx, http.MethodConnect, srv.URL+"/ws", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(":protocol", "websocket")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Protocol", "chat")
	// net/http's own client refuses the :protocol pseudo-header, so the
	// client is golang.org/x/net/http2's transport.
	tr := &http2.Transport{TLSClientConfig: srv.Client().Transport.(*http.Transport).TLSClientConfig}
	defer tr.CloseIdleConnections()
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatalf("extended CONNECT: %v", err)
	}
	defer resp.Body.Close()
	if resp.ProtoMajor != 2 {
		t.Fatalf("response over %s", resp.Proto)
	}
	n, err := handshake.CheckResponse(resp, handshake.Offer{Subprotocols: []string{"chat"}})
	if err != nil {
		t.Fatalf("CheckResponse: %v", err)
	}
	r := receive(t, results)
	if r.err != nil || n.Subprotocol != "chat" || r.conn.Subprotocol() != "chat" {
		t.Fatalf("Accept: %v; subprotocol %q", r.err, n.Subprotocol)
	}
	c := ws.NewConn(&pipeConn{r: resp.Body, w: pw}, nil, ws.RoleClient, nil)
	defer c.CloseNow()
	for _, msg := range []string{"over HTTP/2", strings.Repeat("big ", 40000)} {
		if got := roundTrip(t, c, ws.Text, msg); got != msg {
			t.Fatalf("echo of %d bytes came back as %d bytes", len(msg), len(got))
		}
	}
	if err := c.Close(ws.CloseNormal, "bye"); err != nil {
		t.Fatalf("Close: %v", err)
	}

	// A plain GET over HTTP/2 is refused with 405 and the right Allow.
	get, err := srv.Client().Get(srv.URL + "/ws")
	if err != nil {
		t.Fatal(err)
	}
	get.Body.Close()
	if get.StatusCode != 405 || get.Header.Get("Allow") != "CONNECT" {
		t.Fatalf("GET over HTTP/2: %s, Allow %q", get.Status, get.Header.Get("Allow"))
	}
	if r := receive(t, results); !errors.Is(r.err, handshake.ErrMethod) {
		t.Fatalf("Accept of a GET over HTTP/2: %v", r.err)
	}
}

// pipeConn is the client's side of an HTTP/2 stream as a net.Conn.
type pipeConn struct {
	r io.ReadCloser
	w *io.PipeWriter
}

func (c *pipeConn) Read(p []byte) (int, error)  { return c.r.Read(p) }
func (c *pipeConn) Write(p []byte) (int, error) { return c.w.Write(p) }
func (c *pipeConn) Close() error {
	c.w.Close()
	return c.r.Close()
}
func (c *pipeConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *pipeConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *pipeConn) SetDeadline(time.Time) error      { return nil }
func (c *pipeConn) SetReadDeadline(time.Time) error  { return nil }
func (c *pipeConn) SetWriteDeadline(time.Time) error { return nil }
