package catalog

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestEncodeReadFrameRoundTrip(t *testing.T) {
	key := [4]byte{1, 2, 3, 4}
	tests := []struct {
		name     string
		spec     FrameSpec
		isServer bool
		wantLen  int
	}{
		{"empty text, server", Frame(1, nil), true, 0},
		{"125 octets, client", Frame(2, bytes.Repeat([]byte{0xfe}, 125)), false, 125},
		{"126 octets uses 16-bit length", Frame(2, bytes.Repeat([]byte{1}, 126)), true, 126},
		{"65536 octets uses 64-bit length", Frame(1, bytes.Repeat([]byte{'*'}, 65536)), false, 65536},
		{"repeated payload", FrameSpec{Opcode: 1, Payload: []byte("abc"), Fin: true, PayloadLen: 10}, true, 10},
		{"explicit mask from a server", FrameSpec{Opcode: 9, Payload: []byte("hi"), Fin: true, Mask: &key}, true, 2},
		{"rsv and no fin", FrameSpec{Opcode: 0, Payload: []byte("x"), Rsv: 5}, true, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw := encodeFrame(tc.spec, tc.isServer)
			f, err := readFrame(bufio.NewReader(bytes.NewReader(raw)))
			if err != nil {
				t.Fatal(err)
			}
			if f.opcode != tc.spec.Opcode || f.fin != tc.spec.Fin || f.rsv != tc.spec.Rsv || f.nonMinimal {
				t.Errorf("header: got op %d fin %v rsv %d nonMinimal %v", f.opcode, f.fin, f.rsv, f.nonMinimal)
			}
			if wantMask := !tc.isServer || tc.spec.Mask != nil; f.masked != wantMask {
				t.Errorf("masked = %v, want %v", f.masked, wantMask)
			}
			if len(f.payload) != tc.wantLen {
				t.Fatalf("payload length %d, want %d", len(f.payload), tc.wantLen)
			}
			for i := range f.payload {
				if f.payload[i] != tc.spec.Payload[i%len(tc.spec.Payload)] {
					t.Fatalf("payload differs at %d", i)
				}
			}
		})
	}
}

func TestReadFrameFlagsNonMinimalLength(t *testing.T) {
	raw := []byte{0x81, 126, 0, 5, 'h', 'e', 'l', 'l', 'o'}
	f, err := readFrame(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil || !f.nonMinimal || string(f.payload) != "hello" {
		t.Fatalf("got %+v, %v", f, err)
	}
}

func TestUTF8CheckAgreesWithStdlibAtEverySplit(t *testing.T) {
	inputs := []string{
		"", "hello", "κόσμε", "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited",
		"\xf4\x90\x80\x80", "\xf0\x9f\x98\x80", "\xed\x9f\xbf", "\xed\xa0\x80", "\xc0\xaf", "\xe0\x80\xaf",
		"\xef\xbf\xbf", "\xf4\x8f\xbf\xbf", "\x80", "\xce", "a\xf0\x9f\x98",
	}
	for _, in := range inputs {
		want := utf8.ValidString(in)
		for split := 0; split <= len(in); split++ {
			var v utf8Check
			got := v.feed([]byte(in[:split])) && v.feed([]byte(in[split:])) && v.complete()
			if got != want {
				t.Errorf("%q split at %d: got %v, want %v", in, split, got, want)
			}
		}
	}
}

func TestSelectPatterns(t *testing.T) {
	ids := func(cs []Case) string {
		var out []string
		for _, c := range cs {
			out = append(out, c.ID)
		}
		return strings.Join(out, ",")
	}
	all := []Case{{ID: "1.1.1"}, {ID: "1.1.2"}, {ID: "1.2.1"}, {ID: "2.1"}, {ID: "2.10"}, {ID: "2.2"}, {ID: "10.1.1"}}
	tests := []struct {
		include, exclude []string
		want             string
	}{
		{[]string{"*"}, nil, "1.1.1,1.1.2,1.2.1,2.1,2.2,2.10,10.1.1"},
		{[]string{"1.*"}, nil, "1.1.1,1.1.2,1.2.1"},
		{[]string{"1.1.*", "2.10"}, nil, "1.1.1,1.1.2,2.10"},
		{[]string{"*"}, []string{"1.*", "2.1"}, "2.2,2.10,10.1.1"},
		{[]string{"2.*"}, []string{"2.1*"}, "2.2"},
	}
	for _, tc := range tests {
		got, err := Select(all, tc.include, tc.exclude)
		if err != nil {
			t.Fatal(err)
		}
		if ids(got) != tc.want {
			t.Errorf("Select(%v, %v) = %s, want %s", tc.include, tc.exclude, ids(got), tc.want)
		}
	}
	if _, err := Select(all, []string{"3.1"}, nil); err == nil {
		t.Error("Select of an unknown exact ID: no error")
	}
}

func TestReportNamesAndLogData(t *testing.T) {
	if got := reportFilename("AutobahnPython/0.6.0", "1.1.1"); got != "autobahnpython_0_6_0_case_1_1_1.json" {
		t.Errorf("reportFilename = %q", got)
	}
	if got := logData(strings.Repeat("*", 70)); got != strings.Repeat("*", 64)+" ..." {
		t.Errorf("logData long = %q", got)
	}
	if got := logData("\xfe\xff"); got != "0xfeff" {
		t.Errorf("logData binary = %q", got)
	}
}

func TestCatalogNumbering(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range append(append(append(section1(), section2()...), section3()...), section4()...) {
		if seen[c.ID] {
			t.Errorf("duplicate case %s", c.ID)
		}
		seen[c.ID] = true
		if c.Description == "" || c.Expectation == "" || c.Run == nil {
			t.Errorf("case %s incomplete", c.ID)
		}
	}
	// The suite's sections 1–4: 1.1.1–1.1.8, 1.2.1–1.2.8, 2.1–2.11,
	// 3.1–3.7, 4.1.1–4.1.5, 4.2.1–4.2.5.
	if len(seen) != 16+11+7+10 {
		t.Errorf("sections 1–4 have %d cases, want 44", len(seen))
	}
	for _, id := range []string{"1.1.8", "1.2.8", "2.11", "3.7", "4.1.5", "4.2.5"} {
		if !seen[id] {
			t.Errorf("missing case %s", id)
		}
	}
}

// TestCaseTimeoutBoundsAStuckCase runs a case that never ends by itself
// against a peer that never answers: the hard timeout drops it.
func TestCaseTimeoutBoundsAStuckCase(t *testing.T) {
	t.Parallel()
	url := brokenServer(t, flaw{noEcho: true})
	stuck := Case{ID: "99.1", Description: "stuck", Expectation: "none", Run: func(s Session) {
		s.Expect(OK, Message([]byte("x"), false))
		s.ExpectClose(ExpectedClose{ClosedByMe: true, CloseCodes: []int{1000}, RequireClean: true})
		s.SendMessage([]byte("x"), false)
	}}
	dir := t.TempDir()
	start := time.Now()
	reps, err := RunServerTests(context.Background(), url, "stuck", []Case{stuck}, &Options{CaseTimeout: 300 * time.Millisecond, OutDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v", d)
	}
	r := reps[0]
	if r.Behavior != Failed || r.BehaviorClose != Failed || !r.DroppedByMe || r.WasClean {
		t.Errorf("got %+v", r.Result)
	}
	for _, name := range []string{"index.json", "stuck_case_99_1.json"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Error(err)
		}
	}
}

// TestNoGoroutineLeft runs cases of every ending (clean close, peer
// failing, peer dropping TCP, close timeout) and checks that no goroutine
// of the engine is left behind. It is not parallel, so it runs alone.
func TestNoGoroutineLeft(t *testing.T) {
	before := runtime.NumGoroutine()
	// A subtest, so that the broken servers are shut down at its end.
	t.Run("cases", func(t *testing.T) {
		for _, fl := range []flaw{{}, {dropOnClose: true}, {keepTCP: true}, {noEcho: true}} {
			url := brokenServer(t, fl)
			cases, _ := Select(All(), []string{"1.1.1", "2.7", "3.1", "4.1.3"}, nil)
			if _, err := RunServerTests(context.Background(), url, "leak", cases, nil); err != nil {
				t.Fatal(err)
			}
		}
	})
	deadline := time.Now().Add(5 * time.Second)
	for {
		if n := runtime.NumGoroutine(); n <= before {
			break
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			n := runtime.Stack(buf, true)
			t.Fatalf("%d goroutines before, %d after:\n%s", before, runtime.NumGoroutine(), buf[:n])
		}
		time.Sleep(20 * time.Millisecond)
	}
}
