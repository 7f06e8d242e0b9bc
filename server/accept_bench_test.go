package server

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"testing"

	"github.com/rfc6455/ws/handshake"
)

// hijackWriter is a minimal http.ResponseWriter and http.Hijacker over one
// end of a net.Pipe, so that Accept can be measured without httptest or a
// socket.
type hijackWriter struct {
	h   http.Header
	nc  net.Conn
	brw *bufio.ReadWriter
}

func (w *hijackWriter) Header() http.Header         { return w.h }
func (w *hijackWriter) WriteHeader(int)             {}
func (w *hijackWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return w.nc, w.brw, nil
}

func BenchmarkAccept(b *testing.B) {
	srv, cli := net.Pipe()
	defer srv.Close()
	defer cli.Close()
	go io.Copy(io.Discard, cli)
	r, _ := http.NewRequest(http.MethodGet, "http://example.com/ws", nil)
	r.Header.Set("Upgrade", "websocket")
	r.Header.Set("Connection", "Upgrade")
	r.Header.Set("Sec-WebSocket-Version", "13")
	r.Header.Set("Sec-WebSocket-Key", handshake.NewKey())
	brw := bufio.NewReadWriter(bufio.NewReaderSize(srv, 16), nil)
	w := &hijackWriter{h: http.Header{}, nc: srv, brw: brw}
	opts := &Options{CheckOrigin: func(*http.Request) bool { return true }}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Accept(w, r, opts); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAcceptKey(b *testing.B) {
	key := handshake.NewKey()
	b.ReportAllocs()
	for b.Loop() {
		handshake.AcceptKey(key)
	}
}
