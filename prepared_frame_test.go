//go:build !js

package ws

import (
	"bytes"
	"testing"

	"github.com/rfc6455/ws/deflate"
	"github.com/rfc6455/ws/wsproto"
)

// TestPreparedFrameForADriver: Frame gives another driver of the core the
// frame WritePrepared writes: the prepared frame, or the compressed one
// shared by every connection with the same window and level; nothing for a
// client or a compressor with context takeover, which encode it themselves.
func TestPreparedFrameForADriver(t *testing.T) {
	data := bytes.Repeat([]byte("broadcast "), 100)
	pm, err := NewPreparedMessage(Text, data)
	if err != nil {
		t.Fatal(err)
	}
	sender := func(role wsproto.Role, params *deflate.Params) *wsproto.Sender {
		cfg := wsproto.Config{Role: role}
		if params != nil {
			cfg.Compression = &wsproto.Compression{Params: *params, Level: 1}
		}
		return &wsproto.New(cfg).Sender
	}
	plain, ok := pm.Frame(sender(wsproto.Server, nil))
	if want, _ := sender(wsproto.Server, nil).AppendMessage(nil, wsproto.Text, data); !ok || !bytes.Equal(plain, want) {
		t.Errorf("uncompressed: %v, frame differs from AppendMessage's", ok)
	}
	noTakeover := &deflate.Params{ServerNoContextTakeover: true, ClientNoContextTakeover: true}
	z1, ok1 := pm.Frame(sender(wsproto.Server, noTakeover))
	z2, ok2 := pm.Frame(sender(wsproto.Server, noTakeover))
	if !ok1 || !ok2 || &z1[0] != &z2[0] {
		t.Errorf("without context takeover: %v %v, compressed once for both: %v", ok1, ok2, ok1 && ok2 && &z1[0] == &z2[0])
	}
	// A client with the same parameters reads it as the message.
	rx := wsproto.New(wsproto.Config{Role: wsproto.Client, Assemble: true, Compression: &wsproto.Compression{Params: *noTakeover}})
	if ev, _ := rx.Feed(bytes.Clone(z1)); ev.Kind != wsproto.Message || !bytes.Equal(ev.Payload, data) {
		t.Errorf("the compressed frame reads as %v %q", ev.Kind, ev.Payload)
	}
	if _, ok := pm.Frame(sender(wsproto.Server, &deflate.Params{})); ok {
		t.Error("a frame for a compressor with context takeover")
	}
	if _, ok := pm.Frame(sender(wsproto.Client, nil)); ok {
		t.Error("a frame for a client, which masks")
	}
	if _, ok := new(PreparedMessage).Frame(sender(wsproto.Server, nil)); ok {
		t.Error("a frame for a zero PreparedMessage")
	}
}
