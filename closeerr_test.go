//go:build !js

package ws

import (
	"context"
	"fmt"
	"io"
	"net"
	"testing"
	"time"
)

// readEnd returns the error a server's read ends with when its peer does
// end.
func readEnd(t *testing.T, end func(peer *Conn, raw net.Conn)) error {
	t.Helper()
	a, b := net.Pipe()
	srv := NewConn(a, nil, RoleServer, &Options{CloseTimeout: time.Second})
	peer := NewConn(b, nil, RoleClient, &Options{CloseTimeout: time.Second})
	defer srv.CloseNow()
	defer peer.CloseNow()
	errc := make(chan error, 1)
	go func() {
		_, _, err := srv.ReadMessage(context.Background(), nil)
		errc <- err
	}()
	go func() {
		// The peer reads, so that it sees the server's answer to its close.
		for {
			if _, _, err := peer.ReadMessage(context.Background(), nil); err != nil {
				return
			}
		}
	}()
	end(peer, b)
	select {
	case err := <-errc:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("the read did not end")
		return nil
	}
}

func TestIsCloseError(t *testing.T) {
	normal := readEnd(t, func(p *Conn, _ net.Conn) { p.Close(CloseNormal, "bye") })
	away := readEnd(t, func(p *Conn, _ net.Conn) { p.Close(CloseGoingAway, "") })
	internal := readEnd(t, func(p *Conn, _ net.Conn) { p.Close(CloseInternalError, "oops") })
	dropped := readEnd(t, func(_ *Conn, raw net.Conn) { raw.Close() })
	garbage := readEnd(t, func(_ *Conn, raw net.Conn) { raw.Write([]byte{0x8f, 0x80, 0, 0, 0, 0}) }) // reserved opcode: 1002
	for _, tc := range []struct {
		name  string
		err   error
		codes []CloseCode
		want  bool
	}{
		{"1000, expected", normal, []CloseCode{CloseNormal, CloseGoingAway}, true},
		{"1001, expected", away, []CloseCode{CloseNormal, CloseGoingAway}, true},
		{"1011, not expected", internal, []CloseCode{CloseNormal, CloseGoingAway}, false},
		{"1011, any code", internal, nil, true},
		{"wrapped", fmt.Errorf("chat: %w", normal), []CloseCode{CloseNormal}, true},
		{"dropped without a close frame", dropped, nil, false},
		{"a protocol error", garbage, nil, false},
		{"io.EOF", io.EOF, nil, false},
		{"nil", nil, nil, false},
	} {
		if got := IsCloseError(tc.err, tc.codes...); got != tc.want {
			t.Errorf("%s: IsCloseError(%v, %v) = %v, want %v", tc.name, tc.err, tc.codes, got, tc.want)
		}
	}
}
