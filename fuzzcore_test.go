//go:build !js

package ws

import (
	"bytes"
	"testing"
	"unicode/utf8"

	"github.com/rfc6455/ws/closecode"
	"github.com/rfc6455/ws/wsproto"
)

// The twins of FuzzServerConn and FuzzClientConn: the same inputs (data,
// sizes, mode) fed to the protocol core (package wsproto) directly, with no
// Conn, no net.Conn and no goroutine, and checked against the same model
// (fzExpect) and the same output checks (fzCheckOutput). sizes gives the
// sizes of the successive inputs, as the transport's reads do for the
// Conn; mode bits 0-1 choose how the core is driven:
//
//	0: Data events, each input fed whole;
//	1: Config.Assemble, whole messages;
//	2: large payloads "read" into a destination of the driver's and handed
//	   to Payload (the zero-copy path), as the Conn does;
//	3: Data events, each input fed in pieces of 1 to 32 bytes (mode bits
//	   3-7), so that the core sees every split of headers and payloads.

// FuzzServerCore fuzzes the core in the server role.
func FuzzServerCore(f *testing.F) { fzCoreTarget(f, RoleServer) }

// FuzzClientCore fuzzes the core in the client role.
func FuzzClientCore(f *testing.F) { fzCoreTarget(f, RoleClient) }

func fzCoreTarget(f *testing.F, role Role) {
	for _, s := range fzSeeds(role) {
		for mode := range uint8(4) {
			f.Add(s.data, s.sizes, s.mode&^3|mode)
		}
	}
	f.Fuzz(func(t *testing.T, data, sizes []byte, mode uint8) {
		fzCoreCheck(t, role, data, sizes, mode)
	})
}

// fzCoreCheck drives a core over one input and checks it against the model.
func fzCoreCheck(t *testing.T, role Role, data, sizes []byte, mode uint8) {
	want := fzExpect(role, data)
	style := mode & 3
	piece := 1 + int(mode>>3)
	c := wsproto.New(wsproto.Config{Role: wsproto.Role(role), ReadLimit: fzReadLimit, Assemble: style == 1})

	in := bytes.Clone(data)
	next := 0
	// read returns the next input, as a read of at most max bytes would.
	read := func(max int) []byte {
		n := len(in)
		if len(sizes) > 0 {
			n = min(n, int(sizes[next%len(sizes)])+1)
			next++
		}
		if max > 0 {
			n = min(n, max)
		}
		b := in[:n:n]
		in = in[n:]
		return b
	}

	var (
		msgs   []fzMsg
		msg    []byte
		inMsg  bool
		pings  [][]byte
		out    []byte
		end    wsproto.Event
		ended  bool
		buf    []byte
		events int
	)
	handle := func(ev wsproto.Event) {
		events++
		if events > 4*len(data)+8 {
			t.Fatalf("%d events from %d bytes of input", events, len(data))
		}
		out = c.AppendReply(out, ev)
		switch ev.Kind {
		case wsproto.Data:
			if ev.Start == inMsg {
				t.Fatalf("Data event with Start %v while a message is in progress: %v", ev.Start, inMsg)
			}
			if ev.Start {
				msg = msg[:0]
			}
			inMsg = !ev.Final
			msg = append(msg, ev.Payload...)
			if ev.Type == wsproto.Text && !utf8.Valid(msg) && ev.Final {
				t.Fatalf("text message delivered that is not valid UTF-8: %q", fzShort(msg))
			}
			if ev.Final {
				msgs = append(msgs, fzMsg{MessageType(ev.Type), bytes.Clone(msg)})
			}
		case wsproto.Message:
			if style != 1 {
				t.Fatalf("Message event without Assemble")
			}
			if ev.Type == wsproto.Text && !utf8.Valid(ev.Payload) {
				t.Fatalf("text message delivered that is not valid UTF-8: %q", fzShort(ev.Payload))
			}
			msgs = append(msgs, fzMsg{MessageType(ev.Type), bytes.Clone(ev.Payload)})
		case wsproto.Ping:
			pings = append(pings, bytes.Clone(ev.Payload))
		case wsproto.Pong:
		case wsproto.Close, wsproto.Failed:
			end, ended = ev, true
		default:
			t.Fatalf("event of kind %v", ev.Kind)
		}
	}
	for !ended && (len(buf) > 0 || len(in) > 0) {
		if len(buf) == 0 {
			if rem := c.DataRemaining(); style == 2 && rem >= 64 {
				// The zero-copy path: the payload goes into the
				// driver's destination, and the core checks it there.
				dst := read(int(min(rem, 1<<20)))
				handle(c.Payload(dst))
				continue
			}
			buf = read(0)
		}
		feed := buf
		if style == 3 {
			feed = buf[:min(len(buf), piece)]
		}
		ev, n := c.Feed(feed)
		if n > len(feed) || n < 0 || ev.Kind == wsproto.None && n != len(feed) {
			t.Fatalf("Feed of %d bytes consumed %d, event %v", len(feed), n, ev.Kind)
		}
		buf = buf[n:]
		if ev.Kind != wsproto.None {
			handle(ev)
		}
	}

	for i, m := range msgs {
		if i >= len(want.msgs) {
			t.Fatalf("message %d (%v, %d bytes) is not in the input, which holds %d valid messages", i, m.typ, len(m.data), len(want.msgs))
		}
		if w := want.msgs[i]; m.typ != w.typ || !bytes.Equal(m.data, w.data) {
			t.Errorf("message %d: got %v %q, want %v %q", i, m.typ, fzShort(m.data), w.typ, fzShort(w.data))
		}
	}
	if len(msgs) != len(want.msgs) {
		t.Errorf("got %d messages, want %d", len(msgs), len(want.msgs))
	}
	switch {
	case want.peer:
		if end.Kind != wsproto.Close || end.Code != want.code || end.Reason != want.reason {
			t.Errorf("end %v %d %q, want the peer's close %d %q", end.Kind, end.Code, end.Reason, want.code, want.reason)
		}
	case want.code == closecode.Abnormal:
		if ended {
			t.Errorf("end %v %d (%v) for an input that just stops", end.Kind, end.Code, end.Err)
		}
	default:
		if end.Kind != wsproto.Failed || end.Code != want.code {
			t.Errorf("end %v %d (%v), want failure %d", end.Kind, end.Code, end.Err, want.code)
		}
		if code, _ := closecode.Of(end.Err); end.Kind == wsproto.Failed && code != end.Code && !(code == 0 && end.Code == closecode.ProtocolError) && end.Code != closecode.MessageTooBig {
			t.Errorf("failure carries code %d but its error %v says %d", end.Code, end.Err, code)
		}
	}
	if !fzEqualPayloads(pings, want.pings) {
		t.Errorf("pings %q, want %q", pings, want.pings)
	}
	fzCheckOutput(t, role, out, want)

	// After the end the core ignores input and produces nothing more.
	if ended {
		if ev, n := c.Feed([]byte{0x81, 0x80, 1, 2, 3, 4}); ev.Kind != wsproto.None || n != 6 {
			t.Errorf("Feed after the end: %v, %d", ev.Kind, n)
		}
		if b := c.AppendReply(nil, wsproto.Event{Kind: wsproto.Ping}); len(b) != 0 {
			t.Errorf("a pong after the close frame")
		}
		a := c.Await()
		switch {
		case end.Kind == wsproto.Failed && a != wsproto.AwaitEOF,
			end.Kind == wsproto.Close && role == RoleServer && a != wsproto.CloseNow,
			end.Kind == wsproto.Close && role == RoleClient && a != wsproto.AwaitEOF:
			t.Errorf("Await after %v: %v", end.Kind, a)
		}
	} else if a := c.Await(); a != wsproto.AwaitFrames {
		t.Errorf("Await on an open connection: %v", a)
	}
}
