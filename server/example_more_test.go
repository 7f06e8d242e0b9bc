package server_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/client"
	"github.com/rfc6455/ws/server"
)

// A wss:// server: server.NewHTTPServer with a certificate, and a client
// that trusts it. A program loads its certificate with
// srv.ListenAndServeTLS("cert.pem", "key.pem"), or sets srv.TLSConfig (with
// a GetCertificate that renews it, for one); browsers then reach it at
// wss://host/ws, over HTTP/1.1 or HTTP/2.
func Example_tls() {
	cert, roots := selfSigned() // a throwaway certificate for 127.0.0.1

	mux := http.NewServeMux()
	mux.Handle("/ws", server.Handler(func(c *ws.Conn) {
		ctx := context.Background()
		for {
			typ, msg, err := c.ReadMessage(ctx, nil)
			if err != nil {
				return
			}
			c.WriteMessage(ctx, typ, msg)
		}
	}))
	srv := server.NewHTTPServer("127.0.0.1:0", mux)
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	ln, err := net.Listen("tcp", srv.Addr)
	if err != nil {
		fmt.Println(err)
		return
	}
	go srv.ServeTLS(ln, "", "")
	defer srv.Close()

	ctx := context.Background()
	c, _, err := client.Dial(ctx, "wss://"+ln.Addr().String()+"/ws", &client.Options{
		TLSConfig: &tls.Config{RootCAs: roots},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close(ws.CloseNormal, "")
	c.WriteMessage(ctx, ws.Text, []byte("hello over TLS"))
	_, msg, _ := c.ReadMessage(ctx, nil)
	fmt.Printf("%s\n", msg)
	// Output: hello over TLS
}

// selfSigned returns a certificate for 127.0.0.1 and a pool that trusts it.
func selfSigned() (tls.Certificate, *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// A heartbeat on a plain connection, as Node servers ping every client and
// terminate the ones whose isAlive flag a pong did not set: KeepAlive runs
// beside the read loop, pings every interval, and fails the connection when
// a pong is late (reads then end with an error that wraps
// ws.ErrKeepAliveTimeout, code 1006). Browsers and this library's client
// answer pings by themselves.
func Example_heartbeat() {
	var pongs atomic.Int64
	srv := &server.Server{
		Options: server.Options{Conn: ws.Options{OnPong: func([]byte) { pongs.Add(1) }}},
		Handle: func(c *ws.Conn, r *http.Request) {
			ctx, cancel := context.WithCancel(r.Context())
			defer cancel() // stops the heartbeat when the handler returns
			// In production: 30 s and 10 s, under the idle timeouts of
			// proxies and load balancers.
			go c.KeepAlive(ctx, 10*time.Millisecond, time.Second)
			for {
				typ, msg, err := c.ReadMessage(ctx, nil)
				if err != nil {
					return
				}
				c.WriteMessage(ctx, typ, msg)
			}
		},
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	hs := server.NewHTTPServer("", srv)
	go hs.Serve(ln)
	defer hs.Close()

	ctx := context.Background()
	c, _, err := client.Dial(ctx, "ws://"+ln.Addr().String()+"/", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close(ws.CloseNormal, "")
	received := make(chan []byte)
	go func() { // the client's reader answers the pings
		for {
			_, msg, err := c.ReadMessage(ctx, nil)
			if err != nil {
				return
			}
			received <- msg
		}
	}()
	for pongs.Load() < 3 {
		time.Sleep(5 * time.Millisecond)
	}
	c.WriteMessage(ctx, ws.Text, []byte("still here"))
	fmt.Printf("%s after 3 heartbeats\n", <-received)
	// Output: still here after 3 heartbeats
}
