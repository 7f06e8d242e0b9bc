package handshake

import (
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strings"
)

// CheckOrigin applies the default origin policy to a WebSocket request
// (RFC 6455 §10.2, and §4.2.2 for the 403 answer). It returns nil if
//
//   - the request has no Origin header: it comes from a program, not a
//     browser, and such a client could send any Origin it liked anyway;
//   - the Origin names the same host and port as the request's Host header
//     (a page of this site); or
//   - the Origin matches one of patterns.
//
// Otherwise it returns an error wrapping ErrOrigin (403 Forbidden). This is
// the defence against cross-site WebSocket hijacking: browsers attach the
// server's cookies to a WebSocket request made by any page, and only the
// Origin header tells the server which page that was. See the package
// documentation.
//
// A pattern is matched, with path.Match syntax and ignoring case, against
// the Origin's host and port, the port left out when it is the scheme's
// default: "example.com", "*.example.com", "localhost:*". A pattern that
// contains "://" is matched against the whole origin instead, scheme
// included: "https://*.example.com". The pattern "*" accepts every origin
// with a host; the opaque origin "null" (sandboxed frames, files) never
// matches a pattern. A malformed pattern makes CheckOrigin return an error
// that is not an *Error (Status reports 500).
func CheckOrigin(r *http.Request, patterns []string) error {
	return checkOrigin(r.Header.Values("Origin"), r.Host, patterns)
}

// checkOrigin is CheckOrigin on the Origin values and the Host of a
// request, from net/http or parsed in place.
func checkOrigin(origins []string, reqHost string, patterns []string) error {
	if len(origins) == 0 {
		return nil
	}
	return checkOrigins(origins, reqHost, patterns)
}

// checkOrigins is checkOrigin for a request with an Origin header, out of
// line: the frame it needs is not on the stack of the handshakes of
// programs, which send none.
//
//go:noinline
func checkOrigins(origins []string, reqHost string, patterns []string) error {
	switch len(origins) {
	case 1:
	default:
		// RFC 6454 §7.3: a user agent sends at most one Origin header.
		return fmt.Errorf("%w: more than one Origin header", ErrOrigin)
	}
	origin := origins[0]
	u, err := url.Parse(origin)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return fmt.Errorf("%w: %q is not an origin of this site", ErrOrigin, origin)
	}
	if sameOrigin(u, reqHost) {
		return nil
	}
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	if strings.Contains(host, ":") {
		host = "[" + host + "]" // IPv6 literal
	}
	if p := u.Port(); p != "" && p != defaultPort(scheme) {
		host += ":" + p
	}
	for _, pat := range patterns {
		target := host
		if strings.Contains(pat, "://") {
			target = scheme + "://" + host
		}
		ok, err := path.Match(strings.ToLower(pat), target)
		if err != nil {
			return fmt.Errorf("handshake: origin pattern %q: %w", pat, err)
		}
		if ok {
			return nil
		}
	}
	return fmt.Errorf("%w: %q is neither the request's host %q nor an allowed origin", ErrOrigin, origin, reqHost)
}

// sameOrigin reports whether the origin u names the host and port of the
// Host header. Missing ports are the default port of the origin's scheme.
func sameOrigin(u *url.URL, hostHeader string) bool {
	if hostHeader == "" {
		return false
	}
	h := &url.URL{Host: hostHeader}
	def := defaultPort(strings.ToLower(u.Scheme))
	op, hp := u.Port(), h.Port()
	if op == "" {
		op = def
	}
	if hp == "" {
		hp = def
	}
	return strings.EqualFold(u.Hostname(), h.Hostname()) && op == hp
}

func defaultPort(scheme string) string {
	switch scheme {
	case "http", "ws":
		return "80"
	case "https", "wss":
		return "443"
	}
	return ""
}
