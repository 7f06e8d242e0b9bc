package engineio

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// CORS is the cross-origin resource sharing policy of a Server (the Fetch
// standard's CORS protocol), for browsers that poll from pages of other
// origins; the reference server's cors option. Preflight requests
// (OPTIONS with Access-Control-Request-Method) are answered 204 by the
// policy alone; other requests get the Access-Control-Allow-* headers and
// are served as usual.
type CORS struct {
	// AllowOrigins lists the origins allowed, as the browser sends them
	// ("https://app.example.com"); "*" allows every origin.
	AllowOrigins []string
	// AllowOriginFunc, if set, is asked about origins AllowOrigins does
	// not list.
	AllowOriginFunc func(origin string) bool
	// AllowMethods answers preflights; nil means GET, HEAD, PUT, PATCH,
	// POST and DELETE.
	AllowMethods []string
	// AllowHeaders answers preflights; nil allows the headers the
	// preflight asks for.
	AllowHeaders []string
	// ExposeHeaders lists the response headers a page may read.
	ExposeHeaders []string
	// AllowCredentials lets pages send cookies (the client's
	// withCredentials). With "*" the request's origin is then echoed,
	// since browsers refuse "*" with credentials.
	AllowCredentials bool
	// MaxAge is how long browsers may cache a preflight's answer; zero
	// sends none.
	MaxAge time.Duration
}

// allowsOrigin reports whether origin may use the server.
func (c *CORS) allowsOrigin(origin string) bool {
	if origin == "" {
		return false
	}
	if slices.Contains(c.AllowOrigins, "*") || slices.Contains(c.AllowOrigins, origin) {
		return true
	}
	return c.AllowOriginFunc != nil && c.AllowOriginFunc(origin)
}

// apply adds the CORS headers for r to w; it answers a preflight itself
// and then reports true.
func (c *CORS) apply(w http.ResponseWriter, r *http.Request) bool {
	h := w.Header()
	origin := r.Header.Get("Origin")
	allowed := c.allowsOrigin(origin)
	if allowed {
		if slices.Contains(c.AllowOrigins, "*") && !c.AllowCredentials {
			h.Set("Access-Control-Allow-Origin", "*")
		} else {
			h.Set("Access-Control-Allow-Origin", origin)
			h.Add("Vary", "Origin")
		}
		if c.AllowCredentials {
			h.Set("Access-Control-Allow-Credentials", "true")
		}
	}
	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
		if allowed {
			methods := c.AllowMethods
			if methods == nil {
				methods = []string{"GET", "HEAD", "PUT", "PATCH", "POST", "DELETE"}
			}
			h.Set("Access-Control-Allow-Methods", strings.Join(methods, ","))
			if c.AllowHeaders != nil {
				if len(c.AllowHeaders) > 0 {
					h.Set("Access-Control-Allow-Headers", strings.Join(c.AllowHeaders, ","))
				}
			} else if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
				h.Set("Access-Control-Allow-Headers", req)
				h.Add("Vary", "Access-Control-Request-Headers")
			}
			if c.MaxAge > 0 {
				h.Set("Access-Control-Max-Age", strconv.FormatInt(int64(c.MaxAge/time.Second), 10))
			}
		}
		h.Set("Content-Length", "0")
		w.WriteHeader(http.StatusNoContent)
		return true
	}
	if allowed && len(c.ExposeHeaders) > 0 {
		h.Set("Access-Control-Expose-Headers", strings.Join(c.ExposeHeaders, ","))
	}
	return false
}
