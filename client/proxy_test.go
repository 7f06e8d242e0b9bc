//go:build !js

package client

import (
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/server"
)

// connectProxy is an HTTP proxy that serves CONNECT tunnels, optionally
// requiring Basic credentials. Targets named in route are sent to the
// address given there, so tests can use host names that resolve nowhere.
type connectProxy struct {
	*httptest.Server
	user, pass string
	route      map[string]string

	mu      sync.Mutex
	targets []string
}

func newConnectProxy(t *testing.T, user, pass string, route map[string]string) *connectProxy {
	p := &connectProxy{user: user, pass: pass, route: route}
	p.Server = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.Close)
	return p
}

func (p *connectProxy) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodConnect {
		http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
		return
	}
	if p.user != "" {
		want := "Basic " + base64.StdEncoding.EncodeToString([]byte(p.user+":"+p.pass))
		if r.Header.Get("Proxy-Authorization") != want {
			w.Header().Set("Proxy-Authenticate", `Basic realm="test"`)
			http.Error(w, "credentials required", http.StatusProxyAuthRequired)
			return
		}
	}
	p.mu.Lock()
	p.targets = append(p.targets, r.Host)
	p.mu.Unlock()
	addr := r.Host
	if to, ok := p.route[addr]; ok {
		addr = to
	}
	up, err := net.Dial("tcp", addr)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	nc, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		up.Close()
		return
	}
	io.WriteString(nc, "HTTP/1.1 200 Connection established\r\n\r\n")
	go func() {
		io.Copy(up, brw) // what the client sent, buffered or not
		up.(*net.TCPConn).CloseWrite()
	}()
	io.Copy(nc, up)
	nc.Close()
	up.Close()
}

func (p *connectProxy) seen() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.targets...)
}

func TestDialThroughConnectProxyWithCredentials(t *testing.T) {
	for _, secure := range []bool{false, true} {
		name := "ws"
		if secure {
			name = "wss"
		}
		t.Run(name, func(t *testing.T) {
			srv, _ := echoServer(t, server.Options{}, secure)
			proxy := newConnectProxy(t, "proxyuser", "proxypass", nil)
			proxyURL, _ := url.Parse(proxy.URL)
			proxyURL.User = url.UserPassword("proxyuser", "proxypass")
			target := name + "://" + srv.Listener.Addr().String() + "/"
			opts := &Options{Proxy: http.ProxyURL(proxyURL)}
			if secure {
				opts.TLSConfig = srv.Client().Transport.(*http.Transport).TLSClientConfig
			}
			c, _, err := Dial(testContext(t), target, opts)
			if err != nil {
				t.Fatalf("Dial through the proxy: %v", err)
			}
			defer c.CloseNow()
			if got := roundTrip(t, c, ws.Text, "tunnelled"); got != "tunnelled" {
				t.Fatalf("echo = %q", got)
			}
			if got := proxy.seen(); len(got) != 1 || got[0] != srv.Listener.Addr().String() {
				t.Fatalf("proxy saw CONNECT to %q", got)
			}
		})
	}
}

func TestDialProxyRefusal(t *testing.T) {
	srv, _ := echoServer(t, server.Options{}, false)
	proxy := newConnectProxy(t, "proxyuser", "proxypass", nil)
	proxyURL, _ := url.Parse(proxy.URL) // no credentials
	_, _, err := Dial(testContext(t), wsURL(srv, "/"), &Options{Proxy: http.ProxyURL(proxyURL)})
	var pe *ProxyError
	if !errors.As(err, &pe) || pe.Response.StatusCode != http.StatusProxyAuthRequired {
		t.Fatalf("Dial = %v, want a ProxyError with 407", err)
	}
	proxyURL.User = url.UserPassword("proxyuser", "wrong")
	_, _, err = Dial(testContext(t), wsURL(srv, "/"), &Options{Proxy: http.ProxyURL(proxyURL)})
	if !errors.As(err, &pe) || strings.Contains(err.Error(), "wrong") {
		t.Fatalf("Dial = %v, want a ProxyError that does not show the password", err)
	}
}

func TestDialUnsupportedProxyScheme(t *testing.T) {
	proxyURL, _ := url.Parse("socks5://127.0.0.1:1")
	_, _, err := Dial(testContext(t), "ws://example.com/", &Options{Proxy: http.ProxyURL(proxyURL)})
	if err == nil || !strings.Contains(err.Error(), "socks5") {
		t.Fatalf("Dial = %v", err)
	}
}

// By default Dial takes the proxy from the environment. net/http reads the
// environment once per process, so the test runs itself again in a child
// process with HTTP_PROXY set, and dials a host name that only the proxy
// knows: the connection can only have gone through it.
func TestDialUsesEnvironmentProxyByDefault(t *testing.T) {
	const target = "ws-echo.invalid:80"
	if os.Getenv("WS_TEST_ENV_PROXY_CHILD") == "" {
		srv, _ := echoServer(t, server.Options{}, false)
		proxy := newConnectProxy(t, "", "", map[string]string{target: srv.Listener.Addr().String()})
		cmd := exec.Command(os.Args[0], "-test.run=^TestDialUsesEnvironmentProxyByDefault$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), "WS_TEST_ENV_PROXY_CHILD=1", "HTTP_PROXY="+proxy.URL, "http_proxy="+proxy.URL, "NO_PROXY=", "no_proxy=")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "--- PASS: TestDialUsesEnvironmentProxyByDefault") {
			t.Fatalf("child process: %v\n%s", err, out)
		}
		if got := proxy.seen(); len(got) != 1 || got[0] != target {
			t.Fatalf("proxy saw CONNECT to %q, want %q", got, target)
		}
		return
	}
	c, _, err := Dial(testContext(t), "ws://"+target+"/", nil)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.CloseNow()
	if got := roundTrip(t, c, ws.Text, "via the environment's proxy"); got != "via the environment's proxy" {
		t.Fatalf("echo = %q", got)
	}
}
