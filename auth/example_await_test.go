package auth_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/auth"
	"github.com/rfc6455/ws/client"
	"github.com/rfc6455/ws/event"
	"github.com/rfc6455/ws/server"
)

// Authentication after the upgrade, as browsers do it when they cannot set
// headers: the first message must carry the token within a deadline, or
// the connection is closed with 1008 (policy violation) and the reason.
func ExampleAwait() {
	verify := func(ctx context.Context, token string) (auth.Identity, error) {
		if token != "s3cret" {
			return auth.Identity{}, auth.ErrInvalidToken
		}
		return auth.Identity{Subject: "ann"}, nil
	}
	srv := &server.Server{
		// The first message is small: keep the read limit small too.
		Options: server.Options{Conn: ws.Options{ReadLimit: 4 << 10}},
		Handle: func(c *ws.Conn, r *http.Request) {
			id, err := auth.Await(r.Context(), c, 5*time.Second, auth.TokenMessage(verify))
			if err != nil {
				return // c is closed with 1008 and the reason
			}
			c.WriteMessage(r.Context(), ws.Text, []byte("welcome "+id.Subject))
			c.ReadMessage(r.Context(), nil)
		},
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	url := "ws" + strings.TrimPrefix(ts.URL, "http")

	ctx := context.Background()
	for _, token := range []string{"guess", "s3cret"} {
		c, _, err := client.Dial(ctx, url, nil)
		if err != nil {
			fmt.Println(err)
			return
		}
		// {"type":"auth","payload":{"token":"..."}}
		msg, _ := event.Encode("auth", map[string]string{"token": token})
		c.WriteMessage(ctx, ws.Text, msg)
		_, reply, err := c.ReadMessage(ctx, nil)
		var ce *ws.CloseError
		switch {
		case errors.As(err, &ce):
			fmt.Printf("%s: closed with %d %q\n", token, uint16(ce.Code), ce.Reason)
		case err == nil:
			fmt.Printf("%s: %s\n", token, reply)
			c.Close(ws.CloseNormal, "")
		}
	}
	// Output:
	// guess: closed with 1008 "authentication failed"
	// s3cret: welcome ann
}
