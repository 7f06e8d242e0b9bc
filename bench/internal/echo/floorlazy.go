package echo

import (
	"io"
	"net"
	"net/http"
	"sync"
	"syscall"
)

// The lazy floors are floorConn holding no buffer while the connection is
// idle: between messages the connection's goroutine waits for readability
// in the runtime's poller (syscall.RawConn) and takes a pooled buffer only
// when there is something to read. They are the least memory an idle
// connection can cost with one goroutine per connection on this runtime —
// floorraw with its own handshake on the accepted connection (the bound for
// oursconn), floorhttp with net/http's (the request parsed by net/http,
// then the connection hijacked and the handler returned, the bound for
// ours through server.Handler). They validate nothing, as floorConn.

// floorBufs holds the lazy floors' read buffers.
var floorBufs = sync.Pool{New: func() any {
	b := make([]byte, 4096)
	return &b
}}

// floorRawConn does floorConn's handshake with a pooled buffer, then
// echoes as floorLazy does.
func floorRawConn(nc net.Conn) {
	defer nc.Close()
	bp := floorBufs.Get().(*[]byte)
	n, ok := floorHandshake(nc, *bp)
	if !ok {
		floorBufs.Put(bp)
		return
	}
	floorLazy(nc, bp, n)
}

// floorHTTPHandler answers a request with a Sec-WebSocket-Key with the 101
// on the hijacked connection and leaves the connection to a goroutine of
// its own, so that net/http lets go of the request's state.
func floorHTTPHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("Sec-WebSocket-Key")
		if key == "" {
			http.Error(w, "not a WebSocket handshake", http.StatusBadRequest)
			return
		}
		nc, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		if _, err := nc.Write(floorResponse([]byte(key))); err != nil {
			nc.Close()
			return
		}
		// Bytes the client sent after its request, if any, go first.
		var bp *[]byte
		n := 0
		if k := brw.Reader.Buffered(); k > 0 {
			bp = floorBufs.Get().(*[]byte)
			n, _ = brw.Reader.Read((*bp)[:k])
		}
		go func() {
			defer nc.Close()
			floorLazy(nc, bp, n)
		}()
	})
}

// floorLazy echoes with floorEcho, holding a pooled buffer only while
// there is something to read; bp, when not nil, is such a buffer whose
// first n bytes were read already.
func floorLazy(nc net.Conn, bp *[]byte, n int) {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return
	}
	// read reads what is there into a pooled buffer; with nothing there
	// it puts the buffer back and says "not yet", and the poller waits for
	// readability. (Waiting without trying first could miss data that came
	// before the wait: RawConn.Read forgets an earlier readiness.)
	var rerr error
	read := func(fd uintptr) bool {
		b := floorBufs.Get().(*[]byte)
		for {
			m, err := syscall.Read(int(fd), *b)
			switch {
			case err == syscall.EINTR:
				continue
			case err == syscall.EAGAIN:
				floorBufs.Put(b)
				return false
			case err != nil:
				rerr = err
			case m == 0:
				rerr = io.EOF
			}
			bp, n = b, max(m, 0)
			return true
		}
	}
	drained := false
	for {
		if bp == nil {
			if err := rc.Read(read); err != nil || rerr != nil {
				if bp != nil {
					floorBufs.Put(bp)
				}
				return
			}
			drained = n < len(*bp)
		}
		ok := floorEcho(nc, *bp, n, drained, true)
		floorBufs.Put(bp)
		if !ok {
			return
		}
		bp, n, drained = nil, 0, false
	}
}
