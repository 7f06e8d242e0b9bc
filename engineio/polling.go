package engineio

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rfc6455/ws"
)

// bufPool holds the buffers of polling requests and responses: POST
// bodies, base64 scratch space, encoded payloads and compressed ones.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// maxPooled is the largest buffer put back in bufPool, so that one large
// payload does not pin its memory.
const maxPooled = 64 << 10

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

func putBuf(b *[]byte) {
	if cap(*b) <= maxPooled {
		*b = (*b)[:0]
		bufPool.Put(b)
	}
}

// openPolling answers a polling handshake: the session's open packet is the
// whole response (protocol v4, "Handshake").
func (s *Server) openPolling(w http.ResponseWriter, r *http.Request, b64 bool) {
	sock := newSocket(s, r, false, b64)
	started := sock.open(func() bool {
		if c := s.sessionCookie(sock.id); c != "" {
			w.Header().Add("Set-Cookie", c)
		}
		return writePayload(w, r, s.openPacket(sock.id, Polling), -1) == nil
	})
	if !started {
		http.Error(w, "engineio: server shutting down", http.StatusServiceUnavailable)
	}
}

// poll serves a GET of an established polling session: it waits until
// packets are queued (or the upgrade or the end of the session makes a
// noop or close packet due) and answers with all of them, joined by the
// record separator. A second GET in flight is answered 400 and ends the
// session (protocol v4, "Receiving data").
func (s *Socket) poll(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.state == stateClosed {
		s.mu.Unlock()
		s.srv.refuse(w, r, requestError(CodeUnknownSID))
		return
	}
	if s.polling {
		s.mu.Unlock()
		s.terminate(fmt.Errorf("%w: overlapping GET requests", ErrTransportError), packetClose, ws.CloseNormal)
		s.srv.refuse(w, r, requestError(CodeBadRequest))
		return
	}
	s.polling = true
	// A GET that comes while a probe WebSocket is open (a client upgrading
	// has its poll in flight already, and pauses polling once the probe is
	// answered) waits for the upgrade for lateGetWait, as the reference's
	// 100 ms noop check makes it: if the upgrade completes meanwhile it is
	// refused like any polling request after the upgrade, else it gets the
	// noop. A GET that was pending before gets the noop at the probe.
	late := s.upgrading
	expired := false
	var lateC <-chan time.Time
	if late {
		t := time.NewTimer(lateGetWait)
		defer t.Stop()
		lateC = t.C
	}
	var wake chan struct{}
	for len(s.queue) == 0 && s.state != stateClosed && !s.ws && !(s.probed && (!late || expired)) {
		if wake == nil {
			wake = make(chan struct{}, 1)
		}
		s.extra().pollWake = wake
		s.mu.Unlock()
		select {
		case <-wake:
		case <-lateC:
			expired = true
			lateC = nil
		case <-r.Context().Done():
			s.mu.Lock()
			s.more.pollWake = nil
			s.polling = false
			s.mu.Unlock()
			s.terminate(fmt.Errorf("%w: poll connection closed prematurely", ErrTransportError), 0, ws.CloseNormal)
			return
		}
		s.mu.Lock()
		s.more.pollWake = nil
	}
	if late && s.ws && s.state != stateClosed {
		s.polling = false
		s.mu.Unlock()
		s.srv.refuse(w, r, requestError(CodeBadRequest))
		return
	}
	var ps []*Prepared
	var final byte
	switch {
	case s.state == stateClosed:
		final = s.final
		if final == 0 {
			final = packetClose
		}
	case s.ws:
		// Upgraded meanwhile: the queue belongs to the WebSocket now.
		final = packetNoop
	case len(s.queue) > 0:
		ps = s.take()
	default:
		// An upgrade is under way: a noop ends this GET so that the
		// client can complete it (protocol v4, "Upgrade").
		final = packetNoop
	}
	// The GET is over once its packets are taken: the client may send
	// the next as soon as it has the answer, which a large body can give
	// it before writePayload returns.
	s.polling = false
	s.extra().pollEnd = nanotime()
	s.mu.Unlock()

	bp := getBuf()
	body := *bp
	for i, p := range ps {
		if i > 0 {
			body = append(body, separator)
		}
		body = p.appendPolling(body)
	}
	if final != 0 {
		if len(ps) > 0 {
			body = append(body, separator)
		}
		body = append(body, final)
	}
	err := writePayload(w, r, body, s.srv.gzipThreshold)
	*bp = body
	putBuf(bp)

	if err != nil {
		s.terminate(fmt.Errorf("%w: %w", ErrTransportError, err), 0, ws.CloseNormal)
		return
	}
	s.sent(ps)
}

// receive serves a POST of an established polling session: its body is a
// payload of packets, handled in order, and the answer is "ok". A body over
// MaxPayload is answered 413, a malformed one 400; a second POST in flight
// is answered 400. All three end the session (protocol v4, "Sending data").
func (s *Socket) receive(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.state == stateClosed {
		s.mu.Unlock()
		s.srv.refuse(w, r, requestError(CodeUnknownSID))
		return
	}
	if s.posting {
		s.mu.Unlock()
		s.terminate(fmt.Errorf("%w: overlapping POST requests", ErrTransportError), packetClose, ws.CloseNormal)
		s.srv.refuse(w, r, requestError(CodeBadRequest))
		return
	}
	s.posting = true
	// The POST's packets count as received from its arrival, not from
	// when a busy machine gets to decoding them: a pong that came before
	// its deadline is not lost to the timer meanwhile.
	s.received()
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.posting = false
		s.mu.Unlock()
	}()

	// The v4 client always posts text (binary messages are base64). The
	// protocol lets a sender mark binary bodies with
	// application/octet-stream; such a body is read as the same payload,
	// whose encoding is the same.
	limit := s.srv.opts.MaxPayload
	if r.ContentLength > limit {
		s.tooLarge(w)
		return
	}
	bp := getBuf()
	defer putBuf(bp)
	body, err := readLimited(r.Body, (*bp)[:0], limit)
	*bp = body
	switch {
	case err == errTooLarge:
		s.tooLarge(w)
		return
	case err != nil:
		s.terminate(fmt.Errorf("%w: reading the POST body: %w", ErrTransportError, err), packetClose, ws.CloseNormal)
		return
	}
	sp := getBuf()
	defer putBuf(sp)
	err = decodePayload(body, sp, s.onPacket)
	if err != nil {
		s.terminate(fmt.Errorf("%w: %w", ErrParseError, err), packetClose, ws.CloseNormal)
		s.srv.refuse(w, r, requestError(CodeBadRequest))
		return
	}
	h := w.Header()
	// text/html, as the reference answers (some user agents offered to
	// download text/plain answers).
	h.Set("Content-Type", "text/html")
	h.Set("Content-Length", "2")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, "ok")
}

// tooLarge answers a POST over MaxPayload with 413, as the reference does,
// and ends the session, whose messages would otherwise be lost silently.
func (s *Socket) tooLarge(w http.ResponseWriter) {
	s.terminate(fmt.Errorf("%w: %w", ErrTransportError, ErrPayloadTooLarge), packetClose, ws.CloseNormal)
	w.Header().Set("Connection", "close")
	w.WriteHeader(http.StatusRequestEntityTooLarge)
}

var errTooLarge = fmt.Errorf("body over the limit")

// lateGetWait is how long a GET that comes during an upgrade waits for it
// to complete before it gets a noop.
const lateGetWait = 100 * time.Millisecond

// readLimited appends r's content to buf, failing with errTooLarge past
// limit bytes; it never holds more than limit+1 bytes of it.
func readLimited(r io.Reader, buf []byte, limit int64) ([]byte, error) {
	for {
		if int64(len(buf)) > limit {
			return buf, errTooLarge
		}
		if len(buf) == cap(buf) {
			n := min(int64(max(2*cap(buf), 512)), limit+1)
			nb := make([]byte, len(buf), n)
			copy(nb, buf)
			buf = nb
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			if int64(len(buf)) > limit {
				return buf, errTooLarge
			}
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// writePayload writes a polling response: body as UTF-8 text, compressed
// when it is at least threshold bytes (a negative threshold: never) and
// the client accepts gzip or deflate.
func writePayload(w http.ResponseWriter, r *http.Request, body []byte, threshold int) error {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=UTF-8")
	h.Set("Cache-Control", "no-store")
	out := body
	if threshold >= 0 && len(body) >= threshold {
		if enc := acceptedEncoding(r.Header.Values("Accept-Encoding")); enc != "" {
			cp := getBuf()
			defer putBuf(cp)
			buf := bytes.NewBuffer((*cp)[:0])
			compress(buf, enc, body)
			*cp = buf.Bytes()
			out = *cp
			h.Set("Content-Encoding", enc)
			h.Add("Vary", "Accept-Encoding")
		}
	}
	h.Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(out)
	return err
}

var (
	gzipPool = sync.Pool{New: func() any { return gzip.NewWriter(nil) }}
	zlibPool = sync.Pool{New: func() any { return zlib.NewWriter(nil) }}
)

// compress writes body to buf in the content coding enc: "gzip" (RFC 1952)
// or "deflate", which HTTP defines as the zlib format (RFC 9110 §8.4.1.2,
// RFC 1950).
func compress(buf *bytes.Buffer, enc string, body []byte) {
	if enc == "gzip" {
		zw := gzipPool.Get().(*gzip.Writer)
		zw.Reset(buf)
		zw.Write(body)
		zw.Close()
		gzipPool.Put(zw)
		return
	}
	zw := zlibPool.Get().(*zlib.Writer)
	zw.Reset(buf)
	zw.Write(body)
	zw.Close()
	zlibPool.Put(zw)
}

// acceptedEncoding picks gzip or deflate from Accept-Encoding values (RFC
// 9110 §12.5.3): the one with the higher quality, gzip on a tie, none with
// quality 0; "*" stands for both when they are not named.
func acceptedEncoding(values []string) string {
	gzipQ, deflateQ, anyQ := -1.0, -1.0, -1.0
	for _, v := range values {
		for item := range strings.SplitSeq(v, ",") {
			name, params, _ := strings.Cut(item, ";")
			name = strings.ToLower(strings.TrimSpace(name))
			q := 1.0
			for p := range strings.SplitSeq(params, ";") {
				k, val, ok := strings.Cut(strings.TrimSpace(p), "=")
				if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
					f, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
					if err != nil || f < 0 || f > 1 {
						f = 0
					}
					q = f
				}
			}
			switch name {
			case "gzip", "x-gzip":
				gzipQ = max(gzipQ, q)
			case "deflate":
				deflateQ = max(deflateQ, q)
			case "*":
				anyQ = max(anyQ, q)
			}
		}
	}
	if gzipQ < 0 {
		gzipQ = anyQ
	}
	if deflateQ < 0 {
		deflateQ = anyQ
	}
	switch {
	case gzipQ > 0 && gzipQ >= deflateQ:
		return "gzip"
	case deflateQ > 0:
		return "deflate"
	}
	return ""
}
