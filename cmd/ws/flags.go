package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/rfc6455/ws/client"
	"github.com/rfc6455/ws/deflate"
	"github.com/rfc6455/ws/loadgen"
)

// listFlag collects the values of a flag given several times.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ", ") }

func (l *listFlag) Set(s string) error {
	*l = append(*l, s)
	return nil
}

// commaFlag is a comma-separated list; giving the flag again adds to it.
type commaFlag []string

func (l *commaFlag) String() string { return strings.Join(*l, ",") }

func (l *commaFlag) Set(s string) error {
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*l = append(*l, p)
		}
	}
	return nil
}

// sizeFlag is a byte count with an optional unit (see loadgen.ParseSize).
type sizeFlag int64

func (s *sizeFlag) String() string { return loadgen.FormatSize(int64(*s)) }

func (s *sizeFlag) Set(v string) error {
	n, err := loadgen.ParseSize(v)
	if err != nil {
		return errors.New("want a size such as 512, 64KB or 1KiB")
	}
	*s = sizeFlag(n)
	return nil
}

// dialFlags are the client flags that ws dial and ws load share.
type dialFlags struct {
	headers      listFlag
	subprotocols commaFlag
	origin       string
	insecure     bool
	cacert       string
	compress     bool
}

func (d *dialFlags) define(fs *flag.FlagSet) {
	fs.Var(&d.headers, "H", "add a request header, as `'Name: value'` (repeatable)")
	fs.Var(&d.subprotocols, "subprotocols", "offer these subprotocols, most preferred first (`list`, comma-separated)")
	fs.StringVar(&d.origin, "origin", "", "send this Origin header, as a browser would (`URL`)")
	fs.BoolVar(&d.insecure, "insecure", false, "wss: accept any server certificate (self-signed ones included)")
	fs.StringVar(&d.cacert, "cacert", "", "wss: trust the CA certificates in this PEM `file` as well as the system's")
	fs.BoolVar(&d.compress, "compress", false, "offer permessage-deflate (RFC 7692); used if the server accepts it")
}

// options builds the client options; a bad value is a usage error.
func (d *dialFlags) options() (*client.Options, error) {
	opts := &client.Options{Subprotocols: d.subprotocols, Header: http.Header{}}
	for _, h := range d.headers {
		name, value, ok := strings.Cut(h, ":")
		name = strings.TrimSpace(name)
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			return nil, usageError("-H %q: want 'Name: value'", h)
		}
		opts.Header.Add(name, strings.TrimSpace(value))
	}
	if d.compress {
		opts.Compression = &deflate.ClientConfig{}
	}
	if d.origin != "" {
		opts.Header.Set("Origin", d.origin)
	}
	if d.insecure || d.cacert != "" {
		opts.TLSConfig = &tls.Config{InsecureSkipVerify: d.insecure}
	}
	if d.cacert != "" {
		pem, err := os.ReadFile(d.cacert)
		if err != nil {
			return nil, usageError("-cacert: %v", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, usageError("-cacert %s: no PEM certificate in it", d.cacert)
		}
		opts.TLSConfig.RootCAs = pool
	}
	return opts, nil
}

// oneURL checks that the arguments are exactly one URL.
func oneURL(args []string) (string, error) {
	switch len(args) {
	case 0:
		return "", usageError("missing URL, such as ws://127.0.0.1:8080/")
	case 1:
		return args[0], nil
	}
	return "", usageError("want one URL, got %d arguments: %s", len(args), strings.Join(args, " "))
}

// dialError turns an error from client.Dial into one line for the user:
// options Dial cannot use are usage errors (2), anything else a failure
// (1). Every failure names the URL; a refusal gives the server's reason
// from the response body; no answer within the bound (bound names the flag
// that set it: "-timeout 10s") says so.
func dialError(url string, err error, bound string) error {
	if errors.Is(err, client.ErrInvalidOptions) {
		return &exitError{code: exitUsage, err: err}
	}
	var (
		he *client.HandshakeError
		oe *net.OpError
		ne net.Error
	)
	switch {
	case errors.As(err, &he) && he.StatusCode == 101:
		return fmt.Errorf("%s: invalid handshake response: %v", url, he.Err)
	case errors.As(err, &he):
		return fmt.Errorf("%s: handshake refused: %s%s", url, he.Response.Status, bodyReason(he.Response))
	case errors.As(err, &oe) && oe.Op == "dial" && !oe.Timeout():
		return fmt.Errorf("cannot connect to %s: %v", url, oe.Err)
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
		return fmt.Errorf("%s: no answer to the opening handshake within %s", url, bound)
	}
	return fmt.Errorf("%s: %w", url, err)
}

// maxReason is how much of a refusal's body is shown, in runes.
const maxReason = 100

// bodyReason returns ": " and the start of a refusal's body on one line,
// or "" when the body says nothing.
func bodyReason(resp *http.Response) string {
	if resp == nil || resp.Body == nil {
		return ""
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4*maxReason))
	return reasonText(string(b))
}

// reasonText makes an explanation fit one line: ": " and its words, cut to
// maxReason runes; "" when there are none or they are not text.
func reasonText(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "")
	}
	s = strings.Join(strings.Fields(s), " ")
	if s == "" || strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) {
		return ""
	}
	if r := []rune(s); len(r) > maxReason {
		s = string(r[:maxReason]) + "…"
	}
	return ": " + s
}
