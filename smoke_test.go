package ws

import (
	"context"
	"net"
	"testing"
)

func TestSmokeEcho(t *testing.T) {
	a, b := net.Pipe()
	srv := NewConn(a, nil, RoleServer, nil)
	cli := NewConn(b, nil, RoleClient, nil)
	ctx := context.Background()
	go func() {
		var buf []byte
		for {
			typ, msg, err := srv.ReadMessage(ctx, buf)
			if err != nil {
				return
			}
			srv.WriteMessage(ctx, typ, msg)
			buf = msg
		}
	}()
	for _, n := range []int{0, 5, 125, 126, 5000, 70000, 1 << 20} {
		p := make([]byte, n)
		for i := range p {
			p[i] = byte('a' + i%26)
		}
		if err := cli.WriteMessage(ctx, Text, p); err != nil {
			t.Fatal(err)
		}
		typ, got, err := cli.ReadMessage(ctx, nil)
		if err != nil || typ != Text || string(got) != string(p) {
			t.Fatalf("n=%d: %v %v %d", n, typ, err, len(got))
		}
	}
	go cli.ReadMessage(ctx, nil)
	if err := cli.Close(CloseNormal, "bye"); err != nil {
		t.Fatal(err)
	}
}
