package catalog

// The fuzzing peer's opening handshake, written by hand for the same reason
// as its frame codec: it must not share code with the library under test.

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"net/url"
	"strings"
	"time"
)

const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// userAgent is what the fuzzing peer calls itself in handshakes.
const userAgent = "AutobahnTestSuite-Go/rfc6455-ws-catalog"

func acceptKey(key string) string {
	h := sha1.Sum([]byte(key + wsGUID))
	return base64.StdEncoding.EncodeToString(h[:])
}

// headerHasToken reports whether a comma-separated header value holds tok,
// case-insensitively.
func headerHasToken(v, tok string) bool {
	for _, p := range strings.Split(v, ",") {
		if strings.EqualFold(strings.TrimSpace(p), tok) {
			return true
		}
	}
	return false
}

// clientConn is an open connection after the client's handshake.
type clientConn struct {
	c        net.Conn
	br       *bufio.Reader
	request  string
	response string
	server   string         // the Server header
	pmd      *DeflateParams // permessage-deflate in force, if any
	status   string         // the response's status line
	body     string         // with a refusal, the start of the body
}

// dialWS connects to a ws:// URL and performs the opening handshake as a
// client. errDial marks failures to reach the server at all.
func dialWS(ctx context.Context, rawURL string, timeout time.Duration) (*clientConn, error) {
	return dialWSWith(ctx, rawURL, timeout, nil)
}

// dialWSWith is dialWS sending comp's permessage-deflate offers, if any,
// and checking the server's answer to them.
func dialWSWith(ctx context.Context, rawURL string, timeout time.Duration, comp *Compression) (*clientConn, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, &dialError{err}
	}
	if u.Scheme != "ws" {
		return nil, &dialError{fmt.Errorf("catalog: only ws:// URLs are supported, not %q", rawURL)}
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "80")
	}
	d := net.Dialer{Timeout: timeout}
	c, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return nil, &dialError{err}
	}
	cc := &clientConn{c: c, br: bufio.NewReaderSize(c, 64<<10)}
	if err := cc.handshake(u, timeout, comp); err != nil {
		c.Close()
		return cc, err
	}
	return cc, nil
}

type dialError struct{ err error }

func (e *dialError) Error() string { return e.err.Error() }
func (e *dialError) Unwrap() error { return e.err }

func (cc *clientConn) handshake(u *url.URL, timeout time.Duration, comp *Compression) error {
	_ = cc.c.SetDeadline(time.Now().Add(timeout))
	defer cc.c.SetDeadline(time.Time{})
	var k [16]byte
	_, _ = rand.Read(k[:])
	key := base64.StdEncoding.EncodeToString(k[:])
	path := u.RequestURI()
	if path == "" {
		path = "/"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\n", path)
	fmt.Fprintf(&b, "User-Agent: %s\r\n", userAgent)
	fmt.Fprintf(&b, "Host: %s\r\n", u.Host)
	b.WriteString("Upgrade: WebSocket\r\nConnection: Upgrade\r\nPragma: no-cache\r\nCache-Control: no-cache\r\n")
	if ext := clientOfferHeader(comp); ext != "" {
		fmt.Fprintf(&b, "Sec-WebSocket-Extensions: %s\r\n", ext)
	}
	fmt.Fprintf(&b, "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", key)
	cc.request = b.String()
	if _, err := cc.c.Write([]byte(cc.request)); err != nil {
		return err
	}
	tp := textproto.NewReader(cc.br)
	status, err := tp.ReadLine()
	if err != nil {
		return fmt.Errorf("catalog: reading handshake response: %w", err)
	}
	hdr, err := tp.ReadMIMEHeader()
	if err != nil {
		return fmt.Errorf("catalog: reading handshake headers: %w", err)
	}
	var rb strings.Builder
	rb.WriteString(status + "\r\n")
	for k, vs := range hdr {
		for _, v := range vs {
			rb.WriteString(k + ": " + v + "\r\n")
		}
	}
	cc.response = rb.String()
	cc.server = hdr.Get("Server")
	cc.status = status
	f := strings.Fields(status)
	if len(f) < 2 || !strings.HasPrefix(f[0], "HTTP/1.") || f[1] != "101" {
		// The start of the body, as far as it came with the header.
		body, _ := cc.br.Peek(min(cc.br.Buffered(), 512))
		cc.body = string(body)
		return fmt.Errorf("catalog: handshake refused: %q", status)
	}
	if !headerHasToken(hdr.Get("Upgrade"), "websocket") {
		return errors.New("catalog: handshake response without Upgrade: websocket")
	}
	if !headerHasToken(hdr.Get("Connection"), "upgrade") {
		return errors.New("catalog: handshake response without Connection: Upgrade")
	}
	if hdr.Get("Sec-WebSocket-Accept") != acceptKey(key) {
		return errors.New("catalog: wrong Sec-WebSocket-Accept")
	}
	pmd, err := clientAccept(comp, hdr.Values("Sec-WebSocket-Extensions"))
	if err != nil {
		return fmt.Errorf("catalog: %w", err)
	}
	cc.pmd = pmd
	return nil
}

// serverRequest is an opening handshake request received by the fuzzing
// server.
type serverRequest struct {
	path     string
	query    url.Values
	request  string
	response string
	pmd      *DeflateParams // permessage-deflate in force, if any
}

// acceptWS reads a client's opening handshake and, when valid, answers 101.
func acceptWS(c net.Conn, br *bufio.Reader, timeout time.Duration) (*serverRequest, error) {
	return acceptWSWith(c, br, timeout, nil)
}

// acceptWSWith is acceptWS answering permessage-deflate offers with the
// Compression that pick returns for the request (nil: none).
func acceptWSWith(c net.Conn, br *bufio.Reader, timeout time.Duration, pick func(*serverRequest) *Compression) (*serverRequest, error) {
	_ = c.SetDeadline(time.Now().Add(timeout))
	defer c.SetDeadline(time.Time{})
	tp := textproto.NewReader(br)
	line, err := tp.ReadLine()
	if err != nil {
		return nil, err
	}
	hdr, err := tp.ReadMIMEHeader()
	if err != nil {
		return nil, err
	}
	f := strings.Fields(line)
	refuse := func(status, why string) (*serverRequest, error) {
		fmt.Fprintf(c, "HTTP/1.1 %s\r\nServer: %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
			status, userAgent, len(why), why)
		return nil, errors.New("catalog: refused handshake: " + why)
	}
	if len(f) != 3 || f[0] != "GET" || f[2] != "HTTP/1.1" {
		return refuse("400 Bad Request", "bad request line")
	}
	u, err := url.ParseRequestURI(f[1])
	if err != nil {
		return refuse("400 Bad Request", "bad request URI")
	}
	key := hdr.Get("Sec-WebSocket-Key")
	switch {
	case !headerHasToken(hdr.Get("Upgrade"), "websocket"):
		return refuse("400 Bad Request", "missing Upgrade: websocket")
	case !headerHasToken(hdr.Get("Connection"), "upgrade"):
		return refuse("400 Bad Request", "missing Connection: Upgrade")
	case hdr.Get("Sec-WebSocket-Version") != "13":
		return refuse("426 Upgrade Required", "Sec-WebSocket-Version must be 13")
	case key == "":
		return refuse("400 Bad Request", "missing Sec-WebSocket-Key")
	}
	var rb strings.Builder
	rb.WriteString(line + "\r\n")
	for k, vs := range hdr {
		for _, v := range vs {
			rb.WriteString(k + ": " + v + "\r\n")
		}
	}
	req := &serverRequest{path: u.Path, query: u.Query(), request: rb.String()}
	if req.path == "/runCase" || req.path == "/updateReports" {
		if req.query.Get("agent") == "" {
			return refuse("400 Bad Request", "need agent")
		}
	}
	var ext string
	if pick != nil {
		var err error
		ext, req.pmd, err = serverNegotiate(pick(req), hdr.Values("Sec-WebSocket-Extensions"))
		if err != nil {
			return refuse("400 Bad Request", err.Error())
		}
	}
	resp := "HTTP/1.1 101 Switching Protocols\r\nServer: " + userAgent +
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + acceptKey(key) + "\r\n"
	if ext != "" {
		resp += "Sec-WebSocket-Extensions: " + ext + "\r\n"
	}
	resp += "\r\n"
	req.response = resp
	if _, err := c.Write([]byte(resp)); err != nil {
		return nil, err
	}
	return req, nil
}
