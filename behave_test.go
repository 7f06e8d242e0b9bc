//go:build !js

package ws

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/rfc6455/ws/closecode"
	"github.com/rfc6455/ws/internal/behave"
	"github.com/rfc6455/ws/wsproto"
)

// TestBehaviourTable runs the behaviour table (package internal/behave),
// which the protocol core and the event loop run too, against Conn, read
// with each of its reading APIs.
func TestBehaviourTable(t *testing.T) {
	for _, api := range []string{"ReadMessage", "NextReader", "Serve"} {
		t.Run(api, func(t *testing.T) {
			behave.Run(t, func(t *testing.T, c behave.Case, split int) behave.Observed {
				return runConnCase(t, c, split, api)
			})
		})
	}
}

func runConnCase(t *testing.T, c behave.Case, split int, api string) behave.Observed {
	fc := &fzConn{in: bytes.Clone(c.Input)}
	if split > 0 {
		fc.sizes = []byte{byte(split - 1)}
	}
	var o behave.Observed
	opts := &Options{
		ReadLimit:    c.Limit(),
		CloseTimeout: 50 * time.Millisecond,
		OnPing:       func(p []byte) { o.Pings = append(o.Pings, bytes.Clone(p)) },
		OnPong:       func(p []byte) { o.Pongs = append(o.Pongs, bytes.Clone(p)) },
	}
	if c.Compression != nil {
		opts.Compression = &Compression{Params: *c.Compression}
	}
	conn := NewConn(fc, nil, Role(c.Role), opts)
	var err error
	switch api {
	case "ReadMessage":
		for {
			var typ MessageType
			var msg []byte
			typ, msg, err = conn.ReadMessage(bg, nil)
			if err != nil {
				break
			}
			o.Messages = append(o.Messages, behave.Msg{Type: wsproto.MessageType(typ), Data: msg})
		}
	case "NextReader":
		for {
			var typ MessageType
			var r io.Reader
			typ, r, err = conn.NextReader(bg)
			if err != nil {
				break
			}
			var msg []byte
			msg, err = io.ReadAll(r)
			if err != nil {
				break
			}
			o.Messages = append(o.Messages, behave.Msg{Type: wsproto.MessageType(typ), Data: msg})
		}
	case "Serve":
		err = conn.Serve(bg, Handler{OnMessage: func(typ MessageType, data []byte) {
			o.Messages = append(o.Messages, behave.Msg{Type: wsproto.MessageType(typ), Data: bytes.Clone(data)})
		}})
	}
	var ce *CloseError
	code, _ := closecode.Of(err)
	switch {
	case errors.As(err, &ce):
		o.End = behave.End{Kind: behave.PeerClose, Code: ce.Code, Reason: ce.Reason}
	case code == closecode.Abnormal:
		o.End = behave.End{Kind: behave.Abnormal, Code: code}
	default:
		o.End = behave.End{Kind: behave.Failed, Code: code}
	}
	if conn.State() != StateClosed {
		t.Errorf("state after the end: %v", conn.State())
	}
	o.Written = fc.out.Bytes()
	return o
}
