package wsproto_test

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/rfc6455/ws/internal/behave"
	"github.com/rfc6455/ws/wsproto"
)

// coreMode is a way of driving the core.
type coreMode struct {
	name        string
	assemble    bool
	pullInflate bool
	direct      bool // read payloads "directly" and hand them to Payload
}

var coreModes = []coreMode{
	{name: "chunks"},
	{name: "assemble", assemble: true},
	{name: "pull-inflate", pullInflate: true},
	{name: "direct", direct: true, pullInflate: true},
}

// TestBehaviourTable runs the behaviour table against the core, driven
// directly, in each of its modes.
func TestBehaviourTable(t *testing.T) {
	for _, m := range coreModes {
		t.Run(m.name, func(t *testing.T) {
			behave.Run(t, func(t *testing.T, c behave.Case, split int) behave.Observed {
				return runCore(t, c, split, m)
			})
		})
	}
}

// source hands out input in reads of at most split bytes.
type source struct {
	in    []byte
	split int
}

func (s *source) read(max int) []byte {
	n := len(s.in)
	if s.split > 0 {
		n = min(n, s.split)
	}
	if max > 0 {
		n = min(n, max)
	}
	b := bytes.Clone(s.in[:n]) // Feed modifies its input
	s.in = s.in[n:]
	return b
}

// runCore drives a core Conn over c's input the way a driver would.
func runCore(t *testing.T, c behave.Case, split int, m coreMode) behave.Observed {
	cfg := wsproto.Config{Role: c.Role, ReadLimit: c.Limit(), Assemble: m.assemble, PullInflate: m.pullInflate}
	if c.Compression != nil {
		cfg.Compression = &wsproto.Compression{Params: *c.Compression}
	}
	pc := wsproto.New(cfg)
	src := &source{in: c.Input, split: split}
	var o behave.Observed
	var msg []byte
	var buf []byte // input not yet fed
	// next returns the next event, reading input as needed; ok is false
	// at the end of the input.
	next := func() (wsproto.Event, bool) {
		for {
			if len(buf) == 0 {
				if rem := pc.DataRemaining(); m.direct && rem > 0 && len(src.in) > 0 {
					p := src.read(int(min(rem, 1<<30)))
					return pc.Payload(p), true
				}
				if len(src.in) == 0 {
					return wsproto.Event{}, false
				}
				buf = src.read(0)
			}
			ev, n := pc.Feed(buf)
			buf = buf[n:]
			if ev.Kind != wsproto.None {
				return ev, true
			}
		}
	}
	var handle func(ev wsproto.Event) bool
	handle = func(ev wsproto.Event) bool {
		o.Written = pc.AppendReply(o.Written, ev)
		switch ev.Kind {
		case wsproto.Data:
			if ev.Compressed {
				if !ev.Start {
					t.Fatalf("compressed chunk without its start")
				}
				out, err := pc.Inflate(nil, bytes.Clone(ev.Payload), wsproto.PieceFunc(func() ([]byte, error) {
					for {
						ev, ok := next()
						if !ok {
							return nil, io.ErrUnexpectedEOF
						}
						if ev.Kind == wsproto.Data && ev.Compressed {
							return ev.Payload, nil
						}
						if !handle(ev) {
							return nil, errStop
						}
					}
				}))
				if err != nil {
					if f := pc.Failure(); f.Kind == wsproto.Failed {
						o.Written = pc.AppendReply(o.Written, f)
						o.End = behave.End{Kind: behave.Failed, Code: f.Code}
					}
					return false
				}
				o.Messages = append(o.Messages, behave.Msg{Type: ev.Type, Data: out})
				return true
			}
			if ev.Start {
				msg = msg[:0]
			}
			msg = append(msg, ev.Payload...)
			if ev.Final {
				o.Messages = append(o.Messages, behave.Msg{Type: ev.Type, Data: bytes.Clone(msg)})
			}
		case wsproto.Message:
			o.Messages = append(o.Messages, behave.Msg{Type: ev.Type, Data: bytes.Clone(ev.Payload)})
		case wsproto.Ping:
			o.Pings = append(o.Pings, bytes.Clone(ev.Payload))
		case wsproto.Pong:
			o.Pongs = append(o.Pongs, bytes.Clone(ev.Payload))
		case wsproto.Close:
			o.End = behave.End{Kind: behave.PeerClose, Code: ev.Code, Reason: ev.Reason}
			return false
		case wsproto.Failed:
			o.End = behave.End{Kind: behave.Failed, Code: ev.Code}
			return false
		}
		return true
	}
	o.End = behave.End{Kind: behave.Abnormal, Code: 1006}
	for {
		ev, ok := next()
		if !ok || !handle(ev) {
			break
		}
	}
	switch a := pc.Await(); {
	case o.End.Kind == behave.Abnormal && a != wsproto.AwaitFrames && a != wsproto.AwaitClose:
		t.Errorf("Await after the input: %v", a)
	case o.End.Kind == behave.Failed && a != wsproto.AwaitEOF:
		t.Errorf("Await after failing: %v", a)
	case o.End.Kind == behave.PeerClose && c.Role == wsproto.Server && a != wsproto.CloseNow:
		t.Errorf("Await after the closing handshake on the server: %v", a)
	case o.End.Kind == behave.PeerClose && c.Role == wsproto.Client && a != wsproto.AwaitEOF:
		t.Errorf("Await after the closing handshake on the client: %v", a)
	}
	return o
}

var errStop = errors.New("stop")
