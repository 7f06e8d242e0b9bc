package catalog

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// s910Session is a fake Session that records what a case asks for, so the
// shape of sections 9 and 10 can be checked without a network.
type s910Session struct {
	frames      []FrameSpec
	fragmented  []s910Fragmented
	messages    [][]byte
	closes      []int
	closeAfter  []time.Duration
	killAfter   []time.Duration
	expectClose *ExpectedClose
	expected    map[Verdict][][]Event
	reportTime  bool
	wirelog     bool
	autoFrag    int
	tx          map[byte]int
	onMessage   func([]byte, bool)
	onEnd       func(*Result)
	open        bool
}

type s910Fragmented struct {
	payload  []byte
	binary   bool
	fragSize int
}

func newS910Session() *s910Session {
	return &s910Session{expected: map[Verdict][][]Event{}, tx: map[byte]int{}, wirelog: true, open: true}
}

func (f *s910Session) Expect(v Verdict, events ...Event) {
	f.expected[v] = append(f.expected[v], events)
}
func (f *s910Session) ExpectClose(c ExpectedClose)                    { f.expectClose = &c }
func (f *s910Session) Record(Event)                                   {}
func (f *s910Session) FinishWhenDone()                                {}
func (f *s910Session) Received() []Event                              { return nil }
func (f *s910Session) SuppressClose()                                 {}
func (f *s910Session) SetReportTime()                                 { f.reportTime = true }
func (f *s910Session) OnMessage(fn func(payload []byte, binary bool)) { f.onMessage = fn }
func (f *s910Session) OnPong(func(payload []byte))                    {}
func (f *s910Session) OnEnd(fn func(r *Result))                       { f.onEnd = fn }
func (f *s910Session) SetAutoFragmentSize(n int)                      { f.autoFrag = n }
func (f *s910Session) ContinueLater(time.Duration, string, func())    {}
func (f *s910Session) KillAfter(d time.Duration)                      { f.killAfter = append(f.killAfter, d) }
func (f *s910Session) CloseAfter(d time.Duration)                     { f.closeAfter = append(f.closeAfter, d) }
func (f *s910Session) IsOpen() bool                                   { return f.open }
func (f *s910Session) IsServer() bool                                 { return false }
func (f *s910Session) TxFrames(opcode byte) int                       { return f.tx[opcode] }
func (f *s910Session) SetWirelog(on bool)                             { f.wirelog = on }
func (f *s910Session) Deflate() (DeflateParams, bool)                 { return DeflateParams{}, false }
func (f *s910Session) DeflateError() string                           { return "" }

func (f *s910Session) SendFrame(fs FrameSpec) {
	f.frames = append(f.frames, fs)
	f.tx[fs.Opcode]++
}

func (f *s910Session) SendMessage(payload []byte, binary bool) {
	f.messages = append(f.messages, payload)
	op := byte(1)
	if binary {
		op = 2
	}
	if f.autoFrag <= 0 {
		f.tx[op]++
		return
	}
	for off := 0; off < len(payload) || off == 0; off += f.autoFrag {
		f.tx[op]++
		op = 0
	}
}

func (f *s910Session) SendMessageFragmented(payload []byte, binary bool, fragSize int, sync bool) {
	f.fragmented = append(f.fragmented, s910Fragmented{payload, binary, fragSize})
}

func (f *s910Session) SendClose(code int, reason string) {
	f.closes = append(f.closes, code)
	f.open = false
}

// end runs the case's OnEnd hook over a result the engine would have made
// and returns it.
func (f *s910Session) end(wasOpen bool) Result {
	r := Result{Behavior: Failed, BehaviorClose: OK, ConnectionWasOpen: wasOpen, Result: "engine"}
	if f.onEnd != nil {
		f.onEnd(&r)
	}
	return r
}

// s910FrameBytes returns the payload a FrameSpec puts on the wire.
func s910FrameBytes(fs FrameSpec) []byte {
	if fs.PayloadLen <= 0 {
		return fs.Payload
	}
	return bytes.Repeat(fs.Payload, fs.PayloadLen/len(fs.Payload)+1)[:fs.PayloadLen]
}

func s910Cases(t *testing.T) map[string]Case {
	t.Helper()
	m := map[string]Case{}
	for _, c := range append(section9(), section10()...) {
		if _, dup := m[c.ID]; dup {
			t.Fatalf("case %s appears twice", c.ID)
		}
		if c.Run == nil || c.Description == "" || c.Expectation == "" {
			t.Fatalf("case %s is incomplete", c.ID)
		}
		m[c.ID] = c
	}
	return m
}

func TestSections9And10HaveTheSuitesCaseCountsInOrder(t *testing.T) {
	want := map[string]int{
		"9.1": 6, "9.2": 6, "9.3": 9, "9.4": 9, "9.5": 6, "9.6": 6, "9.7": 6, "9.8": 6, "10.1": 1,
	}
	got := map[string]int{}
	var ids []string
	for _, c := range append(section9(), section10()...) {
		sub := c.ID[:strings.LastIndexByte(c.ID, '.')]
		got[sub]++
		ids = append(ids, c.ID)
	}
	for sub, n := range want {
		if got[sub] != n {
			t.Errorf("subsection %s: %d cases, want %d", sub, got[sub], n)
		}
	}
	if len(got) != len(want) {
		t.Errorf("subsections %v, want %v", got, want)
	}
	if ids[0] != "9.1.1" || ids[5] != "9.1.6" || ids[6] != "9.2.1" || ids[len(ids)-2] != "9.8.6" || ids[len(ids)-1] != "10.1.1" {
		t.Errorf("cases out of the suite's order: %v", ids)
	}
	s910Cases(t) // no duplicates, all complete
}

func TestSection9SendsTheSuitesSizesAndTimeouts(t *testing.T) {
	cases := s910Cases(t)
	tests := []struct {
		id       string
		opcode   byte
		size     int
		fragSize int // 0: one frame
		chop     int
		wait     time.Duration
	}{
		{"9.1.1", 1, 64 << 10, 0, 0, 10 * time.Second},
		{"9.1.3", 1, 1 << 20, 0, 0, 100 * time.Second},
		{"9.1.6", 1, 16 << 20, 0, 0, 100 * time.Second},
		{"9.2.3", 2, 1 << 20, 0, 0, 10 * time.Second},
		{"9.2.4", 2, 4 << 20, 0, 0, 10 * time.Second},
		{"9.2.6", 2, 16 << 20, 0, 0, 100 * time.Second},
		{"9.3.1", 1, 4 << 20, 64, 0, 100 * time.Second},
		{"9.3.9", 1, 4 << 20, 4 << 20, 0, 100 * time.Second},
		{"9.4.5", 2, 4 << 20, 16 << 10, 0, 100 * time.Second},
		{"9.4.8", 2, 4 << 20, 1 << 20, 0, 100 * time.Second},
		{"9.5.1", 1, 1 << 20, 0, 64, 1000 * time.Second},
		{"9.5.6", 1, 1 << 20, 0, 2048, 1000 * time.Second},
		{"9.6.2", 2, 1 << 20, 0, 128, 1000 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			f := newS910Session()
			cases[tt.id].Run(f)
			if !f.reportTime {
				t.Error("the report does not show the duration")
			}
			if f.wirelog {
				t.Error("the wire log is on for a large payload")
			}
			if len(f.closeAfter) != 1 || f.closeAfter[0] != tt.wait {
				t.Errorf("CloseAfter %v, want [%v]", f.closeAfter, tt.wait)
			}
			if c := f.expectClose; c == nil || !c.ClosedByMe || !c.RequireClean || len(c.CloseCodes) != 1 || c.CloseCodes[0] != 1000 {
				t.Errorf("ExpectClose %+v, want closed by the fuzzing peer, cleanly, with 1000", c)
			}
			if tt.fragSize > 0 {
				if len(f.fragmented) != 1 || len(f.frames) != 0 {
					t.Fatalf("sent %d fragmented messages and %d frames, want one fragmented message", len(f.fragmented), len(f.frames))
				}
				m := f.fragmented[0]
				if len(m.payload) != tt.size || m.fragSize != tt.fragSize || m.binary != (tt.opcode == 2) {
					t.Errorf("fragmented message of %d bytes in %d-byte fragments (binary %t), want %d in %d",
						len(m.payload), m.fragSize, m.binary, tt.size, tt.fragSize)
				}
				return
			}
			if len(f.frames) != 1 {
				t.Fatalf("sent %d frames, want 1", len(f.frames))
			}
			fs := f.frames[0]
			if fs.Opcode != tt.opcode || !fs.Fin || fs.Rsv != 0 || len(s910FrameBytes(fs)) != tt.size || fs.Chop != tt.chop {
				t.Errorf("frame opcode %d fin %t rsv %d, %d bytes, chop %d; want opcode %d, final, %d bytes, chop %d",
					fs.Opcode, fs.Fin, fs.Rsv, len(s910FrameBytes(fs)), fs.Chop, tt.opcode, tt.size, tt.chop)
			}
		})
	}
}

func TestSection9JudgesTheEchoByTypeAndLength(t *testing.T) {
	cases := s910Cases(t)
	tests := []struct {
		name     string
		id       string
		echo     bool
		binary   bool
		size     int
		behavior Verdict
	}{
		{"text echoed whole", "9.1.2", true, false, 256 << 10, OK},
		{"text echoed as binary", "9.1.2", true, true, 256 << 10, Failed},
		{"text echoed short", "9.1.2", true, false, 256<<10 - 1, Failed},
		{"no echo before the timeout", "9.1.2", false, false, 0, Failed},
		{"binary echoed whole", "9.2.1", true, true, 64 << 10, OK},
		{"binary echoed as text", "9.2.1", true, false, 64 << 10, Failed},
		{"fragmented text echoed whole", "9.3.4", true, false, 4 << 20, OK},
		{"fragmented binary echoed long", "9.4.4", true, true, 4<<20 + 1, Failed},
		{"chopped text echoed whole", "9.5.3", true, false, 1 << 20, OK},
		{"chopped binary echoed as text", "9.6.3", true, false, 1 << 20, Failed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newS910Session()
			cases[tt.id].Run(f)
			if f.onMessage == nil {
				t.Fatal("the case does not handle messages itself")
			}
			if tt.echo {
				f.onMessage(make([]byte, tt.size), tt.binary)
				if len(f.closes) != 1 || f.closes[0] != 1000 {
					t.Errorf("closes %v after the echo, want [1000]", f.closes)
				}
				if !f.wirelog {
					t.Error("the wire log was not turned back on")
				}
			}
			if r := f.end(true); r.Behavior != tt.behavior {
				t.Errorf("behavior %s (%s), want %s", r.Behavior, r.Result, tt.behavior)
			}
		})
	}
}

func TestSection9RoundTripsSendOneMessageAfterEachEcho(t *testing.T) {
	cases := s910Cases(t)
	tests := []struct {
		id     string
		opcode byte
		size   int
		wait   time.Duration
	}{
		{"9.7.1", 1, 0, 60 * time.Second},
		{"9.7.4", 1, 256, 120 * time.Second},
		{"9.7.6", 1, 4096, 480 * time.Second},
		{"9.8.1", 2, 0, 60 * time.Second},
		{"9.8.5", 2, 1024, 240 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			f := newS910Session()
			cases[tt.id].Run(f)
			if len(f.closeAfter) != 1 || f.closeAfter[0] != tt.wait {
				t.Errorf("CloseAfter %v, want [%v]", f.closeAfter, tt.wait)
			}
			// Bounded: at most one echo per message sent, and the case
			// must stop after its 1000th.
			for i := 0; i < 2000 && len(f.closes) == 0; i++ {
				if len(f.frames) != i+1 {
					t.Fatalf("after %d echoes %d frames were sent, want %d", i, len(f.frames), i+1)
				}
				fs := f.frames[i]
				if fs.Opcode != tt.opcode || len(s910FrameBytes(fs)) != tt.size || !fs.Fin {
					t.Fatalf("frame %d: opcode %d, %d bytes; want opcode %d, %d bytes", i, fs.Opcode, len(s910FrameBytes(fs)), tt.opcode, tt.size)
				}
				f.onMessage(bytes.Clone(s910FrameBytes(fs)), tt.opcode == 2)
			}
			if len(f.frames) != 1000 || len(f.closes) != 1 {
				t.Fatalf("sent %d messages and %d closes, want 1000 and 1", len(f.frames), len(f.closes))
			}
			if r := f.end(true); r.Behavior != OK {
				t.Errorf("behavior %s (%s), want OK", r.Behavior, r.Result)
			}
		})
	}

	t.Run("a wrong echo fails the case at once", func(t *testing.T) {
		f := newS910Session()
		cases["9.8.3"].Run(f)
		f.onMessage(make([]byte, 64), true)
		f.onMessage(make([]byte, 63), true)
		if len(f.frames) != 2 || len(f.closes) != 1 {
			t.Fatalf("sent %d messages and %d closes, want 2 and 1", len(f.frames), len(f.closes))
		}
		if r := f.end(true); r.Behavior != Failed {
			t.Errorf("behavior %s, want FAILED", r.Behavior)
		}
	})
	t.Run("the case times out unfinished", func(t *testing.T) {
		f := newS910Session()
		cases["9.7.2"].Run(f)
		for i := 0; i < 999; i++ {
			f.onMessage(make([]byte, 16), false)
		}
		if r := f.end(true); r.Behavior != Failed {
			t.Errorf("behavior %s after 999 of 1000 echoes, want FAILED", r.Behavior)
		}
	})
}

func TestCase10_1_1AutoFragmentsAndCountsFrames(t *testing.T) {
	c := s910Cases(t)["10.1.1"]
	f := newS910Session()
	c.Run(f)
	if f.autoFrag != 1300 {
		t.Errorf("auto-fragment size %d, want 1300", f.autoFrag)
	}
	if len(f.messages) != 1 || len(f.messages[0]) != 65536 || strings.Trim(string(f.messages[0]), "*") != "" {
		t.Fatalf("messages sent %d, want one of 65536 '*'", len(f.messages))
	}
	if ok := f.expected[OK]; len(ok) != 1 || len(ok[0]) != 1 || ok[0][0] != Message(f.messages[0], false) {
		t.Errorf("expected OK events are not the echoed text message")
	}
	if len(f.killAfter) != 1 || f.killAfter[0] != 10*time.Second {
		t.Errorf("KillAfter %v, want [10s]", f.killAfter)
	}
	if c := f.expectClose; c == nil || !c.ClosedByMe || !c.RequireClean || c.CloseCodes[0] != 1000 {
		t.Errorf("ExpectClose %+v", c)
	}
	if f.tx[1] != 1 || f.tx[0] != 50 {
		t.Fatalf("fake sent text %d, continuation %d", f.tx[1], f.tx[0])
	}
	r := Result{Behavior: OK, BehaviorClose: OK, ConnectionWasOpen: true}
	f.onEnd(&r)
	if r.Behavior != OK {
		t.Errorf("behavior %s (%s) with 1 text and 50 continuation frames, want OK", r.Behavior, r.Result)
	}

	f.tx[0] = 49
	r = Result{Behavior: OK, ConnectionWasOpen: true}
	f.onEnd(&r)
	if r.Behavior != Failed {
		t.Errorf("behavior %s with 49 continuation frames, want FAILED", r.Behavior)
	}

	f.tx[0] = 50
	r = Result{Behavior: OK, ConnectionWasOpen: false}
	f.onEnd(&r)
	if r.Behavior != Failed {
		t.Errorf("behavior %s when the connection never opened, want FAILED", r.Behavior)
	}
}
