package wsjson_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/client"
	"github.com/rfc6455/ws/closecode"
	"github.com/rfc6455/ws/server"
	"github.com/rfc6455/ws/wsjson"
)

type point struct {
	X, Y int
	Tag  string `json:"tag,omitempty"`
}

// pair returns a server-side and a client-side connection over loopback.
func pair(t *testing.T, opts *server.Options) (srv, cli *ws.Conn) {
	t.Helper()
	got := make(chan *ws.Conn, 1)
	done := make(chan struct{})
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := server.Accept(w, r, opts)
		if err != nil {
			return
		}
		got <- c
		<-done
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cli, _, err := client.Dial(ctx, "ws"+strings.TrimPrefix(s.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	srv = <-got
	t.Cleanup(func() {
		cli.CloseNow()
		srv.CloseNow()
		close(done)
		s.Close()
	})
	return srv, cli
}

func TestRoundTrip(t *testing.T) {
	srv, cli := pair(t, nil)
	ctx := context.Background()
	in := point{1, 2, "<a&b>"}
	if err := wsjson.Write(ctx, cli, in); err != nil {
		t.Fatal(err)
	}
	var out point
	if err := wsjson.Read(ctx, srv, &out); err != nil {
		t.Fatal(err)
	}
	if out != in {
		t.Fatalf("read %+v, want %+v", out, in)
	}
}

func TestWriteSendsCompactTextWithoutHTMLEscaping(t *testing.T) {
	srv, cli := pair(t, nil)
	ctx := context.Background()
	if err := wsjson.Write(ctx, srv, point{X: 1, Tag: "<>"}); err != nil {
		t.Fatal(err)
	}
	typ, msg, err := cli.ReadMessage(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if typ != ws.Text || string(msg) != `{"X":1,"Y":0,"tag":"<>"}` {
		t.Fatalf("got %v %q", typ, msg)
	}
}

func TestReadErrorsCarryCloseCodes(t *testing.T) {
	tests := []struct {
		name string
		typ  ws.MessageType
		msg  string
		code closecode.Code
	}{
		{"invalid JSON", ws.Text, `{"X":`, closecode.InvalidPayload},
		{"two values", ws.Text, `{} {}`, closecode.InvalidPayload},
		{"wrong shape", ws.Text, `{"X":"one"}`, closecode.InvalidPayload},
		{"binary", ws.Binary, `{}`, closecode.UnsupportedData},
	}
	srv, cli := pair(t, nil)
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := cli.WriteMessage(ctx, tt.typ, []byte(tt.msg)); err != nil {
				t.Fatal(err)
			}
			var p point
			err := wsjson.Read(ctx, srv, &p)
			if err == nil {
				t.Fatal("Read accepted it")
			}
			if code, ok := closecode.Of(err); !ok || code != tt.code {
				t.Fatalf("closecode.Of(%v) = %v, %v; want %v", err, code, ok, tt.code)
			}
		})
	}
	// The connection is still usable after rejected messages.
	wsjson.Write(ctx, cli, point{X: 7})
	var p point
	if err := wsjson.Read(ctx, srv, &p); err != nil || p.X != 7 {
		t.Fatalf("after errors: %+v, %v", p, err)
	}
}

func TestReadRespectsReadLimit(t *testing.T) {
	srv, cli := pair(t, &server.Options{Conn: ws.Options{ReadLimit: 64}})
	ctx := context.Background()
	big := point{Tag: strings.Repeat("x", 100)}
	if err := wsjson.Write(ctx, cli, big); err != nil {
		t.Fatal(err)
	}
	// The client reads meanwhile, so that the close handshake completes.
	cliErr := make(chan error, 1)
	go func() {
		_, _, err := cli.ReadMessage(ctx, nil)
		cliErr <- err
	}()
	var p point
	err := wsjson.Read(ctx, srv, &p)
	if code, _ := closecode.Of(err); code != closecode.MessageTooBig {
		t.Fatalf("Read of a message over the limit: %v (code %v), want 1009", err, code)
	}
	var ce *ws.CloseError
	if err := <-cliErr; !errors.As(err, &ce) || ce.Code != ws.CloseMessageTooBig {
		t.Fatalf("client saw %v, want close 1009", err)
	}
}

func TestPrepareAndMarshal(t *testing.T) {
	pm, err := wsjson.Prepare(map[string]int{"n": 1})
	if err != nil {
		t.Fatal(err)
	}
	if pm.Type() != ws.Text || string(pm.Data()) != `{"n":1}` {
		t.Fatalf("prepared %v %q", pm.Type(), pm.Data())
	}
	if _, err := wsjson.Marshal(func() {}); err == nil {
		t.Fatal("Marshal of a func succeeded")
	}
}
