package auth_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/auth"
	"github.com/rfc6455/ws/client"
	"github.com/rfc6455/ws/server"
)

// Tokens checked before the upgrade; the identity reaches the handler.
func ExampleRequire() {
	verify := func(ctx context.Context, token string) (auth.Identity, error) {
		if token != "s3cret" {
			return auth.Identity{}, auth.ErrInvalidToken
		}
		return auth.Identity{Subject: "ann"}, nil
	}
	srv := &server.Server{Handle: func(c *ws.Conn, r *http.Request) {
		id, _ := auth.FromContext(r.Context())
		c.WriteMessage(r.Context(), ws.Text, []byte("hello "+id.Subject))
		c.ReadMessage(r.Context(), nil)
	}}
	endpoint := auth.Require(&auth.Options{Verify: verify}, srv)
	ts := httptest.NewServer(endpoint)
	defer ts.Close()
	url := "ws" + strings.TrimPrefix(ts.URL, "http")

	ctx := context.Background()
	_, _, err := client.Dial(ctx, url, nil)
	var he *client.HandshakeError
	if errors.As(err, &he) {
		fmt.Println("without a token:", he.StatusCode)
	}
	c, _, err := client.Dial(ctx, url+"?access_token=s3cret", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close(ws.CloseNormal, "")
	_, msg, _ := c.ReadMessage(ctx, nil)
	fmt.Println(string(msg))
	// Output:
	// without a token: 401
	// hello ann
}
