package catalog

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Shape tests for sections 5, 6 and 7, without a network: a fake Session
// records what each case sets up and sends.

// s567Op is one thing a case did through the fake session.
type s567Op struct {
	kind     string // frame, message, fragmented, close, closeframe, begin, data, kill, closeafter
	frame    FrameSpec
	payload  []byte
	binary   bool
	fragSize int
	sync     bool
	code     int
	reason   string
	delay    time.Duration
	fin      bool
	length   int
}

type s567Expectation struct {
	verdict Verdict
	events  []Event
}

type s567Timer struct {
	delay time.Duration
	tag   string
	fn    func()
}

// s567Fake is a Session that records.
type s567Fake struct {
	expects    []s567Expectation
	closeSet   int
	close      ExpectedClose
	suppressed bool
	onEnd      func(*Result)
	onEndCount int
	received   []Event
	ops        []s567Op
	timers     []s567Timer
	open       bool
	server     bool
}

func (f *s567Fake) Expect(v Verdict, events ...Event) {
	f.expects = append(f.expects, s567Expectation{v, events})
}
func (f *s567Fake) ExpectClose(c ExpectedClose)    { f.closeSet++; f.close = c }
func (f *s567Fake) Record(e Event)                 { f.received = append(f.received, e) }
func (f *s567Fake) FinishWhenDone()                {}
func (f *s567Fake) Received() []Event              { return f.received }
func (f *s567Fake) SuppressClose()                 { f.suppressed = true }
func (f *s567Fake) SetReportTime()                 {}
func (f *s567Fake) OnMessage(func([]byte, bool))   {}
func (f *s567Fake) OnPong(func([]byte))            {}
func (f *s567Fake) OnEnd(fn func(*Result))         { f.onEnd = fn; f.onEndCount++ }
func (f *s567Fake) SendFrame(fs FrameSpec)         { f.ops = append(f.ops, s567Op{kind: "frame", frame: fs}) }
func (f *s567Fake) SetAutoFragmentSize(int)        {}
func (f *s567Fake) IsOpen() bool                   { return f.open }
func (f *s567Fake) IsServer() bool                 { return f.server }
func (f *s567Fake) TxFrames(byte) int              { return 0 }
func (f *s567Fake) SetWirelog(bool)                {}
func (f *s567Fake) Deflate() (DeflateParams, bool) { return DeflateParams{}, false }
func (f *s567Fake) DeflateError() string           { return "" }
func (f *s567Fake) KillAfter(d time.Duration)      { f.ops = append(f.ops, s567Op{kind: "kill", delay: d}) }
func (f *s567Fake) CloseAfter(d time.Duration) {
	f.ops = append(f.ops, s567Op{kind: "closeafter", delay: d})
}
func (f *s567Fake) SendMessage(p []byte, binary bool) {
	f.ops = append(f.ops, s567Op{kind: "message", payload: p, binary: binary})
}
func (f *s567Fake) SendMessageFragmented(p []byte, binary bool, n int, sync bool) {
	f.ops = append(f.ops, s567Op{kind: "fragmented", payload: p, binary: binary, fragSize: n, sync: sync})
}
func (f *s567Fake) SendClose(code int, reason string) {
	f.ops = append(f.ops, s567Op{kind: "close", code: code, reason: reason})
}
func (f *s567Fake) ContinueLater(d time.Duration, tag string, fn func()) {
	f.ops = append(f.ops, s567Op{kind: "continue", delay: d, reason: tag})
	f.timers = append(f.timers, s567Timer{d, tag, fn})
}

// s567FakeExt adds the optional methods the cases use when an engine
// session provides them.
type s567FakeExt struct{ *s567Fake }

func (f s567FakeExt) BeginFrame(opcode byte, fin bool, length int) {
	f.ops = append(f.ops, s567Op{kind: "begin", frame: FrameSpec{Opcode: opcode, Fin: fin}, length: length})
}
func (f s567FakeExt) SendFrameData(p []byte) {
	f.ops = append(f.ops, s567Op{kind: "data", payload: p})
}
func (f s567FakeExt) SendCloseFrame(p []byte) {
	f.ops = append(f.ops, s567Op{kind: "closeframe", payload: p})
}

var (
	// The engine's session has the optional methods these sections use.
	_ s6FrameStreamer    = (*session)(nil)
	_ s7CloseFrameSender = (*session)(nil)

	_ Session            = (*s567Fake)(nil)
	_ s6FrameStreamer    = s567FakeExt{}
	_ s7CloseFrameSender = s567FakeExt{}
)

// s567Run runs c against a fake session (with the optional methods when
// ext), firing every ContinueLater step in order with the connection open.
func s567Run(c Case, ext bool) *s567Fake {
	f := &s567Fake{open: true}
	var s Session = f
	if ext {
		s = s567FakeExt{f}
	}
	c.Run(s)
	for len(f.timers) > 0 {
		t := f.timers[0]
		f.timers = f.timers[1:]
		t.fn()
	}
	return f
}

func s567Cases() []Case {
	var all []Case
	all = append(all, section5()...)
	all = append(all, section6()...)
	all = append(all, section7()...)
	return all
}

func s567Find(t *testing.T, id string) Case {
	t.Helper()
	for _, c := range s567Cases() {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("no case %s", id)
	return Case{}
}

// subsection is the ID without its last component ("5" for 5.x).
func s567Subsection(id string) string {
	if strings.HasPrefix(id, "5.") {
		return "5"
	}
	return id[:strings.LastIndexByte(id, '.')]
}

// TestS567Counts checks the number of cases per subsection against the
// original suite (autobahntestsuite/case: case5_1..case5_20, case6_1_1..
// case6_4_4, the generated 6.5.x..6.23.x of case6_x_x.py, case7_1_1..
// case7_13_2 with the code lists of case7_7_X.py and case7_9_X.py).
func TestS567Counts(t *testing.T) {
	want := map[string]int{
		"5":   20,
		"6.1": 3, "6.2": 4, "6.3": 2, "6.4": 4,
		"6.5": 5, "6.6": 11, "6.7": 4, "6.8": 2, "6.9": 4, "6.10": 3,
		"6.11": 5, "6.12": 8, "6.13": 5, "6.14": 10, "6.15": 1, "6.16": 3,
		"6.17": 5, "6.18": 5, "6.19": 5, "6.20": 7, "6.21": 8, "6.22": 34, "6.23": 7,
		"7.1": 6, "7.3": 6, "7.5": 1, "7.7": 13, "7.9": 9, "7.13": 2,
	}
	got := map[string]int{}
	for _, c := range s567Cases() {
		got[s567Subsection(c.ID)]++
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("subsection %s: %d cases, the original has %d", k, got[k], n)
		}
	}
	for k, n := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("subsection %s (%d cases) is not in the original", k, n)
		}
	}
	for sec, n := range map[string]int{"5": 20, "6": 145, "7": 37} {
		var cs []Case
		switch sec {
		case "5":
			cs = section5()
		case "6":
			cs = section6()
		case "7":
			cs = section7()
		}
		if len(cs) != n {
			t.Errorf("section %s: %d cases, the original has %d", sec, len(cs), n)
		}
	}
}

func s567Parse(t *testing.T, id string) []int {
	t.Helper()
	var out []int
	for _, p := range strings.Split(id, ".") {
		n, err := strconv.Atoi(p)
		if err != nil || n <= 0 || p != strconv.Itoa(n) {
			t.Fatalf("malformed ID %q", id)
		}
		out = append(out, n)
	}
	return out
}

func TestS567IDsUniqueAndOrdered(t *testing.T) {
	for _, sec := range [][]Case{section5(), section6(), section7()} {
		for i := 1; i < len(sec); i++ {
			a, b := s567Parse(t, sec[i-1].ID), s567Parse(t, sec[i].ID)
			if slices.Compare(a, b) >= 0 {
				t.Errorf("%s comes before %s", sec[i-1].ID, sec[i].ID)
			}
		}
	}
	seen := map[string]bool{}
	for _, c := range s567Cases() {
		if seen[c.ID] {
			t.Errorf("duplicate ID %s", c.ID)
		}
		seen[c.ID] = true
	}
	// Within a subsection the last component counts 1, 2, 3, ...
	next := map[string]int{}
	for _, c := range s567Cases() {
		p := s567Parse(t, c.ID)
		sub := s567Subsection(c.ID)
		next[sub]++
		if p[len(p)-1] != next[sub] {
			t.Errorf("%s: expected number %d in %s", c.ID, next[sub], sub)
		}
	}
}

// TestS567EveryCaseIsComplete: every case has texts, sets ExpectClose
// once, at least one expectation, sends something and bounds its time
// (KillAfter or CloseAfter), with and without the optional methods.
func TestS567EveryCaseIsComplete(t *testing.T) {
	unimplementedWithout := map[string]bool{"6.4.3": true, "6.4.4": true, "7.3.2": true, "7.3.6": true, "7.9.1": true}
	for _, c := range s567Cases() {
		if c.Description == "" || c.Expectation == "" || c.Run == nil {
			t.Errorf("%s: missing description, expectation or Run", c.ID)
			continue
		}
		for _, ext := range []bool{true, false} {
			f := s567Run(c, ext)
			if f.closeSet != 1 {
				t.Errorf("%s (ext %v): ExpectClose called %d times", c.ID, ext, f.closeSet)
			}
			if len(f.close.CloseCodes) == 0 {
				t.Errorf("%s (ext %v): no close codes", c.ID, ext)
			}
			if len(f.expects) == 0 {
				t.Errorf("%s (ext %v): no expectation", c.ID, ext)
			}
			if f.onEndCount > 1 {
				t.Errorf("%s (ext %v): OnEnd set %d times", c.ID, ext, f.onEndCount)
			}
			var bounded bool
			for _, op := range f.ops {
				if op.kind == "kill" || op.kind == "closeafter" {
					bounded = true
				}
			}
			unimpl := false
			if f.onEnd != nil {
				r := &Result{Behavior: OK, BehaviorClose: OK, ConnectionWasOpen: true, ClosedByMe: true}
				f.onEnd(r)
				unimpl = r.Behavior == Unimplemented
			}
			if !bounded && !unimpl {
				t.Errorf("%s (ext %v): neither KillAfter nor CloseAfter", c.ID, ext)
			}
			wantUnimpl := !ext && unimplementedWithout[c.ID]
			if unimpl != wantUnimpl {
				t.Errorf("%s (ext %v): unimplemented %v, want %v", c.ID, ext, unimpl, wantUnimpl)
			}
		}
	}
}

func s567Frames(f *s567Fake) []FrameSpec {
	var out []FrameSpec
	for _, op := range f.ops {
		if op.kind == "frame" {
			out = append(out, op.frame)
		}
	}
	return out
}

func s567Unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func s567Delay(f *s567Fake, kind string) time.Duration {
	for _, op := range f.ops {
		if op.kind == kind {
			return op.delay
		}
	}
	return -1
}

func TestS567Section5Frames(t *testing.T) {
	type fr struct {
		op   byte
		fin  bool
		p    string
		chop int
		sync bool
	}
	tests := []struct {
		id     string
		frames []fr
		close  ExpectedClose
		ok     []Event
	}{
		{"5.1", []fr{{9, false, "fragment1", 0, false}, {0, true, "fragment2", 0, false}},
			s567EC(false, []int{1002}, false), nil},
		{"5.2", []fr{{10, false, "fragment1", 0, false}, {0, true, "fragment2", 0, false}},
			s567EC(false, []int{1002}, false), nil},
		{"5.4", []fr{{1, false, "fragment1", 0, true}, {0, true, "fragment2", 0, true}},
			s567EC(true, []int{1000}, true), []Event{Message([]byte("fragment1fragment2"), false)}},
		{"5.8", []fr{{1, false, "fragment1", 1, false}, {9, true, "ping payload", 1, false}, {0, true, "fragment2", 1, false}},
			s567EC(true, []int{1000}, true),
			[]Event{Pong([]byte("ping payload")), Message([]byte("fragment1fragment2"), false)}},
		{"5.11", []fr{{0, true, "non-continuation payload", 1, false}, {1, true, "Hello, world!", 1, false}},
			s567EC(false, []int{1002}, false), nil},
		{"5.13", []fr{{0, false, "non-continuation payload", 0, true}, {1, true, "Hello, world!", 0, true}},
			s567EC(false, []int{1002}, false), nil},
		{"5.17", []fr{
			{0, true, "fragment1", 0, false}, {1, false, "fragment2", 0, false}, {0, true, "fragment3", 0, false},
			{0, true, "fragment1", 0, false}, {1, false, "fragment2", 0, false}, {0, true, "fragment3", 0, false}},
			s567EC(false, []int{1002}, false), nil},
		{"5.18", []fr{{1, false, "fragment1", 0, false}, {1, true, "fragment2", 0, false}},
			s567EC(false, []int{1002}, false), nil},
		{"5.20", []fr{
			{1, false, "fragment1", 0, true}, {0, false, "fragment2", 0, true}, {9, true, "pongme 1!", 0, true},
			{0, false, "fragment3", 0, true}, {0, false, "fragment4", 0, true}, {9, true, "pongme 2!", 0, true},
			{0, true, "fragment5", 0, true}},
			s567EC(true, []int{1000}, true),
			[]Event{Pong([]byte("pongme 1!")), Pong([]byte("pongme 2!")),
				Message([]byte("fragment1fragment2fragment3fragment4fragment5"), false)}},
	}
	for _, tt := range tests {
		f := s567Run(s567Find(t, tt.id), true)
		got := s567Frames(f)
		if len(got) != len(tt.frames) {
			t.Errorf("%s: %d frames, want %d", tt.id, len(got), len(tt.frames))
			continue
		}
		for i, w := range tt.frames {
			g := got[i]
			if g.Opcode != w.op || g.Fin != w.fin || string(g.Payload) != w.p || g.Chop != w.chop || g.Sync != w.sync || g.Rsv != 0 || g.Mask != nil || g.PayloadLen != 0 {
				t.Errorf("%s frame %d: %+v, want %+v", tt.id, i, g, w)
			}
		}
		if !s567SameClose(f.close, tt.close) {
			t.Errorf("%s: close %+v, want %+v", tt.id, f.close, tt.close)
		}
		if len(f.expects) != 1 || f.expects[0].verdict != OK || !slices.Equal(f.expects[0].events, tt.ok) {
			t.Errorf("%s: expectations %+v", tt.id, f.expects)
		}
	}
	// 5.19 is 5.20 without sync and with a 1 s pause after the first ping.
	f := s567Run(s567Find(t, "5.19"), true)
	for _, g := range s567Frames(f) {
		if g.Sync {
			t.Errorf("5.19: frame with sync")
		}
	}
	if f.ops[3].kind != "continue" || f.ops[3].delay != time.Second {
		t.Errorf("5.19: 4th step %+v, want a 1 s pause", f.ops[3])
	}
	// 5.15 accepts the echo of the first message (OK) or nothing (NON-STRICT).
	f = s567Run(s567Find(t, "5.15"), true)
	if len(f.expects) != 2 || f.expects[0].verdict != OK || len(f.expects[0].events) != 1 ||
		f.expects[1].verdict != NonStrict || len(f.expects[1].events) != 0 {
		t.Errorf("5.15: expectations %+v", f.expects)
	}
}

func s567SameClose(a, b ExpectedClose) bool {
	return a.ClosedByMe == b.ClosedByMe && a.RequireClean == b.RequireClean &&
		slices.Equal(a.CloseCodes, b.CloseCodes) &&
		a.ClosedByWrongEndpointIsFatal == b.ClosedByWrongEndpointIsFatal
}

func s567EC(byMe bool, codes []int, clean bool) ExpectedClose {
	return ExpectedClose{ClosedByMe: byMe, CloseCodes: codes, RequireClean: clean}
}

// s567UTF8Fail is the expected close of the invalid UTF-8 cases.
var s567UTF8Fail = ExpectedClose{CloseCodes: []int{1007}, ClosedByWrongEndpointIsFatal: true}

func TestS567Section6Payloads(t *testing.T) {
	if s6Mixed != "Hello-µ@ßöäüàá-UTF-8!!" || s6Mixed1 != "Hello-µ@ßöä" {
		t.Errorf("6.2.x payload differs")
	}
	if s6Kosme != "\u03ba\u1f79\u03c3\u03bc\u03b5" { // κόσμε with U+1F79
		t.Errorf("κόσμε differs")
	}

	// 6.4.1: three frames, the fail-fast markers recorded before parts 2 and 3.
	f := s567Run(s567Find(t, "6.4.1"), true)
	got := s567Frames(f)
	want := []FrameSpec{
		{Opcode: 1, Fin: false, Payload: s567Unhex(t, "cebae1bdb9cf83cebcceb5")},
		{Opcode: 0, Fin: false, Payload: s567Unhex(t, "f4908080")},
		{Opcode: 0, Fin: true, Payload: s567Unhex(t, "656469746564")},
	}
	if len(got) != 3 {
		t.Fatalf("6.4.1: %d frames", len(got))
	}
	for i := range want {
		if got[i].Opcode != want[i].Opcode || got[i].Fin != want[i].Fin || !bytes.Equal(got[i].Payload, want[i].Payload) {
			t.Errorf("6.4.1 frame %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	if !slices.Equal(f.received, []Event{Marker("timeout", "A"), Marker("timeout", "B")}) {
		t.Errorf("6.4.1 recorded %v", f.received)
	}
	if len(f.expects) != 2 || f.expects[0].verdict != OK || f.expects[1].verdict != NonStrict ||
		!slices.Equal(f.expects[0].events, []Event{Marker("timeout", "A")}) ||
		!slices.Equal(f.expects[1].events, []Event{Marker("timeout", "A"), Marker("timeout", "B")}) {
		t.Errorf("6.4.1 expectations %+v", f.expects)
	}
	if !s567SameClose(f.close, s567UTF8Fail) {
		t.Errorf("6.4.1 close %+v", f.close)
	}

	// 6.4.1 with the peer gone after part 1: no marker, nothing more sent.
	f = &s567Fake{open: true}
	s567Find(t, "6.4.1").Run(f)
	f.open = false
	f.timers[0].fn()
	if len(f.received) != 0 || len(s567Frames(f)) != 1 {
		t.Errorf("6.4.1 went on after the connection closed: %v", f.ops)
	}

	// 6.4.2: the split is right after the invalid octet.
	got = s567Frames(s567Run(s567Find(t, "6.4.2"), true))
	if hex.EncodeToString(got[0].Payload) != "cebae1bdb9cf83cebcceb5f4" ||
		hex.EncodeToString(got[1].Payload) != "90" ||
		hex.EncodeToString(got[2].Payload) != "8080656469746564" {
		t.Errorf("6.4.2 parts %x %x %x", got[0].Payload, got[1].Payload, got[2].Payload)
	}

	// 6.4.4: one frame header of 21 octets, FIN clear, three chops, then an
	// empty final continuation.
	f = s567Run(s567Find(t, "6.4.4"), true)
	var kinds []string
	for _, op := range f.ops {
		kinds = append(kinds, op.kind)
	}
	if strings.Join(kinds, ",") != "begin,data,continue,data,continue,data,frame,kill" {
		t.Fatalf("6.4.4 steps %v", kinds)
	}
	if op := f.ops[0]; op.frame.Opcode != 1 || op.frame.Fin || op.length != 21 {
		t.Errorf("6.4.4 header %+v", op)
	}
	if hex.EncodeToString(f.ops[1].payload) != "cebae1bdb9cf83cebcceb5f4" ||
		hex.EncodeToString(f.ops[3].payload) != "90" ||
		hex.EncodeToString(f.ops[5].payload) != "8080656469746564" {
		t.Errorf("6.4.4 chops")
	}
	if op := f.ops[6].frame; op.Opcode != 0 || !op.Fin || len(op.Payload) != 0 {
		t.Errorf("6.4.4 final frame %+v", op)
	}

	// Fragmented sends of 6.2.3, 6.3.2.
	for _, id := range []string{"6.2.3", "6.3.2"} {
		f = s567Run(s567Find(t, id), true)
		if f.ops[0].kind != "fragmented" || f.ops[0].fragSize != 1 || f.ops[0].binary || f.ops[0].sync {
			t.Errorf("%s: %+v", id, f.ops[0])
		}
	}
	if p := s567Run(s567Find(t, "6.3.1"), true).ops[0].payload; hex.EncodeToString(p) != "cebae1bdb9cf83cebcceb5eda080656469746564" {
		t.Errorf("6.3.1 payload %x", p)
	}

	// Generated cases: payloads, verdicts and the 0.5 s kill.
	vectors := map[string]string{
		"6.5.4":   "68656c6c6ff0a4ada2776f726c64",
		"6.6.1":   "ce",
		"6.6.11":  "cebae1bdb9cf83cebcceb5",
		"6.8.2":   "fc8480808080",
		"6.11.5":  "f4908080",
		"6.12.8":  s567Range(0x80, 0xbe, ""),
		"6.13.1":  s567Range(0xc0, 0xde, "20"),
		"6.13.5":  "fc20",
		"6.14.10": "fdbfbfbfbf",
		"6.15.1":  "c0e080f08080f8808080fc80808080dfefbff7bfbffbbfbfbffdbfbfbfbf",
		"6.16.3":  "fefeffff",
		"6.19.5":  "fc8080808080",
		"6.21.8":  "edafbfedbfbf",
		"6.22.1":  "efbfbe",
		"6.22.3":  "f09fbfbe",
		"6.22.33": "f48fbfbe",
		"6.22.34": "f48fbfbf",
		"6.23.7":  "efbfbf",
	}
	for id, h := range vectors {
		f := s567Run(s567Find(t, id), true)
		if f.ops[0].kind != "message" || hex.EncodeToString(f.ops[0].payload) != h || f.ops[0].binary {
			t.Errorf("%s: sends %+v, want text 0x%s", id, f.ops[0], h)
		}
		if d := s567Delay(f, "kill"); d != 500*time.Millisecond {
			t.Errorf("%s: kill after %v", id, d)
		}
	}
	validPrefixes := []int{}
	for i := 1; i <= 11; i++ {
		f := s567Run(s567Find(t, fmt.Sprintf("6.6.%d", i)), true)
		if f.close.ClosedByMe {
			validPrefixes = append(validPrefixes, i)
			if !s567SameClose(f.close, s567EC(true, []int{1000}, true)) ||
				!slices.Equal(f.expects[0].events, []Event{Message(f.ops[0].payload, false)}) {
				t.Errorf("6.6.%d: valid case set up wrong", i)
			}
		} else if !s567SameClose(f.close, s567UTF8Fail) || len(f.expects[0].events) != 0 {
			t.Errorf("6.6.%d: invalid case set up wrong", i)
		}
	}
	if !slices.Equal(validPrefixes, []int{2, 5, 7, 9, 11}) {
		t.Errorf("valid prefixes of κόσμε: %v", validPrefixes)
	}
	// Every 6.22 and 6.23 vector is valid; every 6.8, 6.10, 6.12..6.21 one is not.
	for _, c := range section6() {
		p := s567Parse(t, c.ID)
		if p[1] < 5 {
			continue
		}
		f := s567Run(c, true)
		wantValid := map[int]bool{5: true, 7: true, 9: true, 22: true, 23: true}[p[1]]
		if p[1] == 6 || p[1] == 11 {
			continue
		}
		if f.close.ClosedByMe != wantValid {
			t.Errorf("%s: valid %v, want %v", c.ID, f.close.ClosedByMe, wantValid)
		}
	}
}

func s567Range(from, to int, sep string) string {
	var b strings.Builder
	for i := from; i <= to; i++ {
		fmt.Fprintf(&b, "%02x%s", i, sep)
	}
	return b.String()
}

func TestS567Section6Verdicts(t *testing.T) {
	// closedByWrongEndpointIsFatal on every invalid UTF-8 case, on no valid one.
	for _, c := range section6() {
		f := s567Run(c, true)
		invalid := !f.close.ClosedByMe
		if f.close.ClosedByWrongEndpointIsFatal != invalid {
			t.Errorf("%s: closedByWrongEndpointIsFatal %v", c.ID, f.close.ClosedByWrongEndpointIsFatal)
		}
		if invalid && !s567SameClose(f.close, s567UTF8Fail) {
			t.Errorf("%s: close %+v", c.ID, f.close)
		}
		if f.onEnd != nil {
			t.Errorf("%s overrides the verdict", c.ID)
		}
	}
	for _, id := range []string{"6.3.1", "6.3.2", "6.4.1", "6.4.2", "6.4.3", "6.4.4", "6.20.1"} {
		if f := s567Run(s567Find(t, id), true); f.close.ClosedByMe {
			t.Errorf("%s: expects the fuzzer to close", id)
		}
	}
}

func TestS567Section7(t *testing.T) {
	closeframe := func(f *s567Fake) []byte {
		for _, op := range f.ops {
			if op.kind == "closeframe" {
				return append([]byte{}, op.payload...)
			}
		}
		return nil
	}
	payloads := map[string]string{
		"7.3.1": "",
		"7.3.2": "61",
		"7.3.6": "03e8" + strings.Repeat("2a", 124),
		"7.5.1": "03e8cebae1bdb9cf83cebcceb5eda080656469746564",
		"7.7.1": "03e8", "7.7.2": "03e9", "7.7.3": "03ea", "7.7.4": "03eb", "7.7.5": "03ef",
		"7.7.6": "03f0", "7.7.7": "03f1", "7.7.8": "03f2", "7.7.9": "03f3", "7.7.10": "0bb8",
		"7.7.11": "0f9f", "7.7.12": "0fa0", "7.7.13": "1387",
		"7.9.1": "0000", "7.9.2": "03e7", "7.9.3": "03ec", "7.9.4": "03ed", "7.9.5": "03ee",
		"7.9.6": "03f8", "7.9.7": "044c", "7.9.8": "07d0", "7.9.9": "0bb7",
		"7.13.1": "1388", "7.13.2": "ffff",
	}
	for id, h := range payloads {
		f := s567Run(s567Find(t, id), true)
		p := closeframe(f)
		if p == nil || hex.EncodeToString(p) != h {
			t.Errorf("%s: close payload %x, want %s", id, p, h)
		}
		if !f.suppressed {
			t.Errorf("%s: close not suppressed", id)
		}
		if d := s567Delay(f, "kill"); d != time.Second {
			t.Errorf("%s: kill after %v", id, d)
		}
	}
	closes := map[string]ExpectedClose{
		"7.1.1":  s567EC(true, []int{1000}, true),
		"7.1.6":  s567EC(true, []int{1000}, true),
		"7.3.1":  s567EC(true, []int{1000}, true),
		"7.3.2":  s567EC(true, []int{1002}, false),
		"7.3.5":  s567EC(true, []int{1000}, true),
		"7.3.6":  s567EC(true, []int{1002}, false),
		"7.5.1":  s567EC(true, []int{1002, 1007}, false),
		"7.7.1":  s567EC(true, []int{1000, 1000}, true),
		"7.7.9":  s567EC(true, []int{1000, 1011}, true),
		"7.7.13": s567EC(true, []int{1000, 4999}, true),
		"7.9.6":  s567EC(true, []int{1002}, false),
		"7.13.1": s567EC(true, []int{1000, 5000, 1002}, false),
		"7.13.2": s567EC(true, []int{1000, 65535, 1002}, false),
	}
	for id, want := range closes {
		if f := s567Run(s567Find(t, id), true); !s567SameClose(f.close, want) {
			t.Errorf("%s: close %+v, want %+v", id, f.close, want)
		}
	}

	// 7.1.x: the frames around the close.
	f := s567Run(s567Find(t, "7.1.5"), true)
	if len(f.ops) != 4 || f.ops[0].frame.Opcode != 1 || f.ops[0].frame.Fin ||
		f.ops[1].kind != "close" || f.ops[1].code != 1000 || f.ops[1].reason != "" ||
		f.ops[2].frame.Opcode != 0 || !f.ops[2].frame.Fin || string(f.ops[2].frame.Payload) != "fragment2" {
		t.Errorf("7.1.5 steps %+v", f.ops)
	}
	f = s567Run(s567Find(t, "7.1.6"), true)
	if big := f.ops[0].frame; big.Opcode != 1 || string(big.Payload) != "BAsd7&jh23" || big.PayloadLen != 262144 {
		t.Errorf("7.1.6 first frame %+v", big)
	}
	if f.ops[2].kind != "close" || f.ops[3].frame.Opcode != 9 {
		t.Errorf("7.1.6 steps %+v", f.ops)
	}
	if f.suppressed != true {
		t.Errorf("7.1.6 not suppressed")
	}
	if f := s567Run(s567Find(t, "7.1.1"), true); f.suppressed {
		t.Errorf("7.1.1 must close once the echo arrived")
	}
	f = s567Run(s567Find(t, "7.3.5"), true)
	if f.ops[0].kind != "close" || f.ops[0].code != 1000 || f.ops[0].reason != strings.Repeat("*", 123) {
		t.Errorf("7.3.5 close %+v", f.ops[0])
	}

	// Verdict overrides.
	for _, id := range []string{"7.1.1", "7.1.2", "7.3.1", "7.5.1", "7.7.3", "7.9.1"} {
		f := s567Run(s567Find(t, id), true)
		r := &Result{Behavior: OK, BehaviorClose: WrongCode, ResultClose: "wrong code"}
		f.onEnd(r)
		if r.Behavior != Failed || r.Result != "wrong code" {
			t.Errorf("%s: wrong code gives %s %q", id, r.Behavior, r.Result)
		}
	}
	for _, id := range []string{"7.1.6", "7.13.1", "7.13.2"} {
		f := s567Run(s567Find(t, id), true)
		r := &Result{Behavior: Failed, BehaviorClose: WrongCode}
		f.onEnd(r)
		if r.Behavior != Informational || r.BehaviorClose != Informational {
			t.Errorf("%s: %s/%s, want INFORMATIONAL", id, r.Behavior, r.BehaviorClose)
		}
	}

	// Without SendCloseFrame the cases fall back to SendClose where it can
	// say the same.
	for id, want := range map[string]s567Op{
		"7.3.1": {kind: "close", code: 0, reason: ""},
		"7.7.2": {kind: "close", code: 1001},
		"7.5.1": {kind: "close", code: 1000, reason: s7InvalidReason},
	} {
		f := s567Run(s567Find(t, id), false)
		if g := f.ops[0]; g.kind != want.kind || g.code != want.code || g.reason != want.reason {
			t.Errorf("%s without SendCloseFrame: %+v", id, g)
		}
	}
}

// TestS567AgainstOurServer runs sections 5 to 7 against this project's
// server (the end-to-end test in catalog_test.go runs the whole catalog).
func TestS567AgainstOurServer(t *testing.T) {
	if testing.Short() {
		t.Skip("runs over the network for a while")
	}
	t.Parallel()
	url := ourServer(t)
	cases := casesFor(s567Cases())
	reports, err := RunServerTests(context.Background(), url, "rfc6455-ws-server", cases, &Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkAll(t, reports, len(cases))
}

// TestS567AgainstOurClient runs sections 5 to 7 against this project's
// client.
func TestS567AgainstOurClient(t *testing.T) {
	if testing.Short() {
		t.Skip("runs over the network for a while")
	}
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cases := casesFor(s567Cases())
	type out struct {
		res map[string][]Report
		err error
	}
	done := make(chan out, 1)
	go func() {
		res, err := ServeClientTests(ctx, ln, cases, &Options{})
		done <- out{res, err}
	}()
	cerr := runOurClient(ctx, ln.Addr().String(), "rfc6455-ws-client")
	cancel()
	o := <-done
	if cerr != nil {
		t.Fatal(cerr)
	}
	if o.err != nil {
		t.Fatal(o.err)
	}
	checkAll(t, o.res["rfc6455-ws-client"], len(cases))
}
