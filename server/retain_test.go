package server

import (
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/rfc6455/ws"
	"net/http"
)

// TestServerDoesNotKeepRequest checks that a Server does not keep the
// request alive for the connection's lifetime once Handle is done with it.
func TestServerDoesNotKeepRequest(t *testing.T) {
	collected := make(chan struct{})
	release := make(chan struct{})
	s := &Server{Handle: func(c *ws.Conn, r *http.Request) {
		runtime.AddCleanup(r, func(ch chan struct{}) { close(ch) }, collected)
		<-release // r is not used any more
	}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	defer close(release)
	c, _ := dialWS(t, srv)
	defer c.CloseNow()
	deadline := time.Now().Add(5 * time.Second)
	for {
		runtime.GC()
		select {
		case <-collected:
			return
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("the request is still reachable while the connection is open")
		}
	}
}
