// Package auth authenticates WebSocket clients: before the upgrade, with a
// token from a query parameter, the Authorization header, a cookie or the
// Sec-WebSocket-Protocol header, refused with 401 or 403; or after it, with
// an authentication message that must arrive within a deadline, refused with
// a 1008 close. The identity is attached to the request's context, for the
// handler to put on the connection (hub.Info.User and Data).
//
// Before the upgrade, Require wraps the WebSocket handler:
//
//	verify := func(ctx context.Context, token string) (auth.Identity, error) {
//		user, ok := sessions.Lookup(token)
//		if !ok {
//			return auth.Identity{}, auth.ErrInvalidToken // 401
//		}
//		if user.Banned {
//			return auth.Identity{}, auth.ErrForbidden // 403
//		}
//		return auth.Identity{Subject: user.ID}, nil
//	}
//	http.Handle("/ws", auth.Require(&auth.Options{Verify: verify}, &server.Server{
//		Handle: func(c *ws.Conn, r *http.Request) {
//			id, _ := auth.FromContext(r.Context())
//			h.Serve(r.Context(), c, hub.Info{User: id.Subject, Data: id})
//		},
//	}))
//
// Browsers cannot set headers on a WebSocket request, so a browser client
// sends its token in the query (?access_token=...), a cookie (mind
// cross-site WebSocket hijacking: keep the server's origin check), or as a
// subprotocol: new WebSocket(url, ["chat.v1", "access_token." + token]).
// In that last case the server must select a real subprotocol ("chat.v1" in
// server.Options.Subprotocols), never the token, or browsers fail the
// connection. Tokens in URLs end up in access logs: prefer short-lived,
// single-use tickets there.
//
// After the upgrade, Await reads the first message as the credentials:
//
//	id, err := auth.Await(ctx, c, 5*time.Second, auth.TokenMessage(verify))
//	if err != nil {
//		return // c was closed with 1008 and the reason
//	}
package auth

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
)

// Identity is who a client is, as a Verifier found.
type Identity struct {
	// Subject identifies the user (a user ID); it is what hub.Info.User
	// takes.
	Subject string
	// Claims holds whatever else the Verifier knows: roles, tenant,
	// expiry.
	Claims map[string]any
}

// Verifier checks a token and returns the identity it stands for. It returns
// an error wrapping ErrForbidden for a valid user that is not allowed in
// (answered 403), and any other error for a token that is not valid
// (answered 401).
type Verifier func(ctx context.Context, token string) (Identity, error)

// Errors of this package. Errors are checked with errors.Is.
var (
	// ErrNoToken: the request carries no token (401).
	ErrNoToken = errors.New("auth: no credentials")
	// ErrInvalidToken: the token is not valid (401).
	ErrInvalidToken = errors.New("auth: invalid token")
	// ErrForbidden: the user is known but not allowed (403).
	ErrForbidden = errors.New("auth: forbidden")
	// ErrTimeout: no authentication message came within the deadline.
	ErrTimeout = errors.New("auth: no authentication message in time")
)

// Source extracts a token from a request, reporting whether there was one.
type Source func(r *http.Request) (token string, ok bool)

// Query takes the token from the query parameter name.
func Query(name string) Source {
	return func(r *http.Request) (string, bool) {
		t := r.URL.Query().Get(name)
		return t, t != ""
	}
}

// Bearer takes the token from an "Authorization: Bearer <token>" header
// (RFC 6750 §2.1).
func Bearer() Source {
	return func(r *http.Request) (string, bool) {
		scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return "", false
		}
		token = strings.TrimSpace(token)
		return token, token != ""
	}
}

// Cookie takes the token from the cookie name.
func Cookie(name string) Source {
	return func(r *http.Request) (string, bool) {
		c, err := r.Cookie(name)
		if err != nil || c.Value == "" {
			return "", false
		}
		return c.Value, true
	}
}

// Subprotocol takes the token from the first subprotocol offered in
// Sec-WebSocket-Protocol that starts with prefix (such as
// "access_token."), the token being the rest. See the package
// documentation for what the server must select.
func Subprotocol(prefix string) Source {
	return func(r *http.Request) (string, bool) {
		for _, h := range r.Header.Values("Sec-WebSocket-Protocol") {
			for p := range strings.SplitSeq(h, ",") {
				p = strings.TrimSpace(p)
				if t, ok := strings.CutPrefix(p, prefix); ok && t != "" {
					return t, true
				}
			}
		}
		return "", false
	}
}

// Options configure Require.
type Options struct {
	// Verify checks tokens; it is required.
	Verify Verifier
	// Sources are tried in order; the first that finds a token wins. Nil
	// means Bearer(), Query("access_token"), Subprotocol("access_token.").
	Sources []Source
	// Realm is named in the WWW-Authenticate header of 401 answers; ""
	// means "websocket".
	Realm string
	// Logger receives refusals at Debug; nil means slog.Default().
	Logger *slog.Logger
}

// DefaultSources are the sources Require uses when Options.Sources is nil.
func DefaultSources() []Source {
	return []Source{Bearer(), Query("access_token"), Subprotocol("access_token.")}
}

// Require returns a handler that authenticates each request before next
// sees it, so before any upgrade: a request without a token, or with one
// Verify rejects, is answered 401 Unauthorized with a WWW-Authenticate
// challenge (RFC 6750 §3), one whose user is forbidden 403 Forbidden. An
// accepted request reaches next with the Identity in its context
// (FromContext).
func Require(opts *Options, next http.Handler) http.Handler {
	if opts == nil || opts.Verify == nil {
		panic("auth: Require without a Verify function")
	}
	o := *opts
	if o.Sources == nil {
		o.Sources = DefaultSources()
	}
	if o.Realm == "" {
		o.Realm = "websocket"
	}
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := authenticate(r, &o)
		if err != nil {
			log.Debug("auth: request refused", "remote", r.RemoteAddr, "path", r.URL.Path, "err", err)
			refuse(w, &o, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), id)))
	})
}

// authenticate finds and verifies the request's token.
func authenticate(r *http.Request, o *Options) (Identity, error) {
	for _, src := range o.Sources {
		if token, ok := src(r); ok {
			id, err := o.Verify(r.Context(), token)
			if err != nil {
				if !errors.Is(err, ErrForbidden) && !errors.Is(err, ErrInvalidToken) {
					err = errors.Join(ErrInvalidToken, err)
				}
				return Identity{}, err
			}
			return id, nil
		}
	}
	return Identity{}, ErrNoToken
}

// refuse answers a refused request.
func refuse(w http.ResponseWriter, o *Options, err error) {
	w.Header().Set("Cache-Control", "no-store")
	if errors.Is(err, ErrForbidden) {
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	challenge := `Bearer realm="` + strings.ReplaceAll(o.Realm, `"`, "") + `"`
	if !errors.Is(err, ErrNoToken) {
		// RFC 6750 §3.1: a token was sent and is not valid.
		challenge += `, error="invalid_token"`
	}
	w.Header().Set("WWW-Authenticate", challenge)
	http.Error(w, "unauthorized", http.StatusUnauthorized)
}

type ctxKey struct{}

// NewContext returns a copy of ctx carrying id.
func NewContext(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// FromContext returns the Identity that Require attached, if any.
func FromContext(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(ctxKey{}).(Identity)
	return id, ok
}
