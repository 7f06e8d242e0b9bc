package handshake

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
)

// ErrIncomplete is returned by ParseRequest when the bytes hold no complete
// request head yet: read more, up to the server's limit on the head's size.
var ErrIncomplete = errors.New("handshake: request head incomplete")

// ErrMalformed is wrapped by the errors ParseRequest returns for bytes that
// are not an HTTP/1.x request head a WebSocket server can take (400 Bad
// Request).
var ErrMalformed = &Error{http.StatusBadRequest, "malformed HTTP request"}

// RawRequest is an HTTP/1.x request head parsed in place by ParseRequest,
// for servers that read requests from their own sockets: the head is copied
// once into a string, and every field is a piece of it. Check and
// CheckOrigin apply the same rules as CheckRequest and CheckOrigin do to a
// net/http request; HTTPRequest builds one for code that needs it.
type RawRequest struct {
	Method string // the request method, "GET" for a WebSocket handshake
	Target string // the request-target as sent: "/chat?room=1"
	Proto  string // "HTTP/1.1"
	// ProtoMajor and ProtoMinor are the protocol version's digits.
	ProtoMajor, ProtoMinor int
	// Host is the Host field ("" when absent).
	Host string
	// URL is Target parsed (url.ParseRequestURI).
	URL *url.URL

	head string   // the head, through its empty line
	keys []string // canonical field names, in order
	vals []string // field values, in order, trimmed of OWS
	req  Request  // what Check found
	url  url.URL  // what URL points to
}

// knownFields are the canonical forms of the fields a handshake usually
// carries, so that parsing them allocates nothing.
var knownFields = []string{
	"Host", "Upgrade", "Connection", "Sec-Websocket-Key", "Sec-Websocket-Version",
	"Sec-Websocket-Extensions", "Sec-Websocket-Protocol", "Origin", "User-Agent",
	"Accept-Encoding", "Accept-Language", "Cache-Control", "Pragma", "Cookie",
	"Authorization", "Content-Length", "Transfer-Encoding", "X-Forwarded-For",
}

// ParseRequest parses the request head at the start of b (RFC 9112 §3 and
// §5): the request line, then header fields up to the empty line. It
// returns the request and the length of the head; bytes after it are the
// client's first frames. With no complete head in b it returns
// ErrIncomplete. It rejects, with an error wrapping ErrMalformed, what
// net/http rejects and what cannot precede a WebSocket: a malformed
// request line or field, whitespace before a field's colon (§5.1), a
// folded line (§5.2), a control character in a value, more than one Host
// field (RFC 9110 §7.2), and a request with a body (Content-Length other
// than 0, or Transfer-Encoding), whose bytes would be taken for frames.
// Lines may end in CRLF or a bare LF (§2.2).
func ParseRequest(b []byte) (*RawRequest, int, error) {
	end := headEnd(b)
	if end < 0 {
		return nil, 0, ErrIncomplete
	}
	head := string(b[:end])
	// The fields' names and values, of their size (the lines after the
	// request line), are made with the RawRequest, in one allocation
	// (newRawRequest), here rather than in parse, whose frame is large:
	// a server's goroutine parses a request before it serves the
	// connection, and should not need more than the 2 KiB of stack it
	// starts with for that.
	_, fields, _ := strings.Cut(head, "\n")
	r, kv := newRawRequest(2 * strings.Count(fields, "\n"))
	r.head = head
	if err := r.parse(kv); err != nil {
		return nil, 0, err
	}
	return r, end, nil
}

// RawRequests made together with room for the names and values of their
// header fields (newRawRequest), sized so that the whole lands on the
// allocator's size classes (RawRequest is 368 bytes: 576, 640, 768 and 896
// bytes), about what the two allocations it saves would have taken.
type (
	rawRequest12 struct {
		r  RawRequest
		kv [12]string
	}
	rawRequest16 struct {
		r  RawRequest
		kv [16]string
	}
	rawRequest24 struct {
		r  RawRequest
		kv [24]string
	}
	rawRequest32 struct {
		r  RawRequest
		kv [32]string
	}
)

// newRawRequest returns a RawRequest and room for n names and values: in
// one allocation for up to 16 header fields (a browser's WebSocket request
// has about 13), else two.
func newRawRequest(n int) (*RawRequest, []string) {
	switch {
	case n <= 12:
		x := new(rawRequest12)
		return &x.r, x.kv[:n:n]
	case n <= 16:
		x := new(rawRequest16)
		return &x.r, x.kv[:n:n]
	case n <= 24:
		x := new(rawRequest24)
		return &x.r, x.kv[:n:n]
	case n <= 32:
		x := new(rawRequest32)
		return &x.r, x.kv[:n:n]
	}
	return new(RawRequest), make([]string, n)
}

// parse parses r.head into r's fields.
//
// kv has room for the names and values of the fields: two per line
// after the request line.
func (r *RawRequest) parse(kv []string) error {
	s := r.head
	line, s := cutLine(s)
	if err := r.parseRequestLine(line); err != nil {
		return err
	}
	n := len(kv) / 2
	r.keys, r.vals = kv[:0:n], kv[n:n:2*n]
	hosts := 0
	for {
		line, s = cutLine(s)
		if line == "" {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			return malformed("folded header line", "")
		}
		colon := strings.IndexByte(line, ':')
		if colon < 0 || !IsToken(line[:colon]) {
			return malformed("header line %q", line)
		}
		name, value := line[:colon], trimOWS(line[colon+1:])
		for i := 0; i < len(value); i++ {
			if c := value[i]; c < ' ' && c != '\t' || c == 0x7f {
				return malformed("control character in header %q", name)
			}
		}
		key := canonicalKey(name)
		switch key {
		case "Host":
			hosts++
			r.Host = value
		case "Content-Length":
			if value != "0" {
				return malformed("a request with a body cannot be upgraded", "")
			}
		case "Transfer-Encoding":
			return malformed("a request with a body cannot be upgraded", "")
		}
		r.keys = append(r.keys, key)
		r.vals = append(r.vals, value)
	}
	if hosts > 1 {
		return malformed("more than one Host header", "")
	}
	if !parseOriginForm(&r.url, r.Target) {
		u, err := url.ParseRequestURI(r.Target)
		if err != nil {
			return malformed("request target %q", r.Target)
		}
		r.url = *u
	}
	r.URL = &r.url
	return nil
}

// parseOriginForm sets u to what url.ParseRequestURI makes of target, a
// request-target in origin form (RFC 9112 §3.2.1: an absolute path and
// an optional query), when its path holds only characters that net/url
// neither unescapes nor escapes; it reports false for any other target,
// which url.ParseRequestURI is left to parse. So the usual target ("/",
// "/chat?room=1") costs no allocation.
func parseOriginForm(u *url.URL, target string) bool {
	if target == "" || target[0] != '/' {
		return false
	}
	path, query, force := target, "", false
	// As net/url: a lone '?' at the end is an empty query that was asked
	// for; otherwise the query starts at the first '?'.
	if q := strings.IndexByte(target, '?'); q >= 0 {
		if q == len(target)-1 {
			path, force = target[:q], true
		} else {
			path, query = target[:q], target[q+1:]
		}
	}
	for i := 0; i < len(path); i++ {
		if !pathChar[path[i]] {
			return false
		}
	}
	*u = url.URL{Path: path, RawQuery: query, ForceQuery: force}
	return true
}

// pathChar holds the characters a path keeps as they are through net/url
// (RFC 3986 unreserved characters, and the sub-delimiters, ':', '@' and
// '/' that net/url does not escape in a path).
var pathChar = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "-_.~$&+,/:;=@" {
		t[c] = true
	}
	return t
}()

// malformed returns an error wrapping ErrMalformed; format has one %q verb
// for arg, or none. It is kept out of line, as the cold path it is.
//
//go:noinline
func malformed(format, arg string) error {
	if arg == "" && !strings.Contains(format, "%") {
		return fmt.Errorf("%w: %s", ErrMalformed, format)
	}
	return fmt.Errorf("%w: "+format, ErrMalformed, arg)
}

// headEnd returns the length of the head at the start of b, through the
// empty line that ends it, or -1.
func headEnd(b []byte) int {
	for i := 0; ; {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return -1
		}
		i += j + 1
		switch {
		case i < len(b) && b[i] == '\n':
			return i + 1
		case i+1 < len(b) && b[i] == '\r' && b[i+1] == '\n':
			return i + 2
		}
	}
}

// cutLine returns the first line of s without its CRLF or LF, and the rest.
func cutLine(s string) (line, rest string) {
	line, rest, _ = strings.Cut(s, "\n")
	return strings.TrimSuffix(line, "\r"), rest
}

// parseRequestLine reads "method SP request-target SP HTTP-version"
// (RFC 9112 §3).
func (r *RawRequest) parseRequestLine(line string) error {
	method, rest, ok1 := strings.Cut(line, " ")
	target, proto, ok2 := strings.Cut(rest, " ")
	if !ok1 || !ok2 || !IsToken(method) || target == "" {
		return malformed("request line %q", line)
	}
	for i := 0; i < len(target); i++ {
		if c := target[i]; c <= ' ' || c == 0x7f {
			return malformed("request line %q", line)
		}
	}
	// HTTP-version = "HTTP/" DIGIT "." DIGIT
	if len(proto) != 8 || !strings.HasPrefix(proto, "HTTP/") || proto[6] != '.' ||
		proto[5] < '0' || proto[5] > '9' || proto[7] < '0' || proto[7] > '9' {
		return malformed("request line %q", line)
	}
	r.Method, r.Target, r.Proto = method, target, proto
	r.ProtoMajor, r.ProtoMinor = int(proto[5]-'0'), int(proto[7]-'0')
	if r.ProtoMajor != 1 {
		return malformed("%s over an HTTP/1 connection", proto)
	}
	return nil
}

// canonicalKey returns the canonical form of a field name (as
// textproto.CanonicalMIMEHeaderKey), without allocating for the usual
// handshake fields.
func canonicalKey(name string) string {
	for _, k := range knownFields {
		if len(k) == len(name) && strings.EqualFold(k, name) {
			return k
		}
	}
	return textproto.CanonicalMIMEHeaderKey(name)
}

// Values returns the values of the field whose canonical name is key, in
// order, as http.Header.Values does.
func (r *RawRequest) Values(key string) []string {
	first := -1
	for i, k := range r.keys {
		if k != key {
			continue
		}
		if first >= 0 {
			// Repeated field: gather its values.
			out := []string{r.vals[first]}
			for j := i; j < len(r.keys); j++ {
				if r.keys[j] == key {
					out = append(out, r.vals[j])
				}
			}
			return out
		}
		first = i
	}
	if first < 0 {
		return nil
	}
	return r.vals[first : first+1 : first+1]
}

// Get returns the first value of the field whose canonical name is key,
// or "".
func (r *RawRequest) Get(key string) string {
	for i, k := range r.keys {
		if k == key {
			return r.vals[i]
		}
	}
	return ""
}

// IsUpgrade reports whether r asks to be upgraded to WebSocket, as
// IsUpgradeRequest does for a net/http request: an Upgrade header with the
// token "websocket" and a Connection header with the token "upgrade". It
// checks nothing else.
func (r *RawRequest) IsUpgrade() bool {
	return headerHasToken(r, "Upgrade", "websocket") && headerHasToken(r, "Connection", "upgrade")
}

// Check applies CheckRequest's rules to r and returns what the client
// offered. The Request is part of r: checking again overwrites it.
func (r *RawRequest) Check() (*Request, error) {
	r.req = Request{}
	if err := checkRequest1(&r.req, r.ProtoMajor, r.ProtoMinor, r.Proto, r.Method, r.Host, r); err != nil {
		return nil, err
	}
	return &r.req, nil
}

// CheckOrigin applies CheckOrigin's policy to r.
func (r *RawRequest) CheckOrigin(patterns []string) error {
	return checkOrigin(r.Values("Origin"), r.Host, patterns)
}

// HTTPRequest returns r as a net/http server request (as http.ReadRequest
// would make it, with an empty body), for code that takes one: hooks,
// handlers. RemoteAddr and TLS are left for the caller to fill.
func (r *RawRequest) HTTPRequest() *http.Request {
	u := *r.URL
	h := make(http.Header, len(r.keys))
	for i, k := range r.keys {
		if k == "Host" {
			continue // net/http moves Host to Request.Host
		}
		h[k] = append(h[k], r.vals[i])
	}
	return &http.Request{
		Method:     r.Method,
		URL:        &u,
		Proto:      r.Proto,
		ProtoMajor: r.ProtoMajor,
		ProtoMinor: r.ProtoMinor,
		Header:     h,
		Body:       http.NoBody,
		Host:       r.Host,
		RequestURI: r.Target,
	}
}
