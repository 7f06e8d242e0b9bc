package loop

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/rfc6455/ws/handshake"
	"github.com/rfc6455/ws/server"
)

// A Refusal is an error an Upgrade hook returns to refuse a handshake with
// a response of its own, for a protocol over WebSocket whose refusals have
// bodies of their own (Engine.IO answers {"code":…,"message":…} as JSON):
// the status line of Status, the fields of Header, Content-Length,
// "Connection: close", and Body. Other errors are answered as package
// server answers them (a *handshake.Error's status and its text).
type Refusal struct {
	Status int
	Header http.Header
	Body   []byte
}

// Error returns the status and the body.
func (r *Refusal) Error() string {
	return fmt.Sprintf("loop: handshake refused: %d %s", r.Status, r.Body)
}

// appendRefusal appends the response to a handshake that failed with err.
func appendRefusal(b []byte, err error) []byte {
	var rf *Refusal
	if !errors.As(err, &rf) {
		return server.AppendError(b, err)
	}
	b = fmt.Appendf(b, "HTTP/1.1 %d %s\r\n", rf.Status, http.StatusText(rf.Status))
	for k, vs := range rf.Header {
		if k == "Content-Length" || k == "Connection" || !handshake.IsToken(k) {
			// A name that is no token (one with a line break, say)
			// would forge fields: dropped, as package server drops
			// those of Options.ResponseHeader.
			continue
		}
		for _, v := range vs {
			b = append(b, k...)
			b = append(b, ": "...)
			b = append(b, headerValue(v)...)
			b = append(b, "\r\n"...)
		}
	}
	b = append(b, "Content-Length: "...)
	b = strconv.AppendInt(b, int64(len(rf.Body)), 10)
	b = append(b, "\r\nConnection: close\r\n\r\n"...)
	return append(b, rf.Body...)
}

// headerValue drops the line breaks of a field value, which would end the
// field (RFC 9110 §5.5: CR and LF are not allowed in a value).
func headerValue(v string) string {
	for i := 0; i < len(v); i++ {
		if v[i] == '\r' || v[i] == '\n' {
			out := make([]byte, 0, len(v))
			for j := 0; j < len(v); j++ {
				if v[j] != '\r' && v[j] != '\n' {
					out = append(out, v[j])
				}
			}
			return string(out)
		}
	}
	return v
}
