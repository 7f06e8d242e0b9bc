//go:build !js

package ws

import (
	"bufio"
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"testing"

	"github.com/rfc6455/ws/deflate"
	"github.com/rfc6455/ws/frame"
)

// A message that reaches the read limit must cost about the limit, not
// twice it (issue 18, "Decompression bombs cost about the read limit"): its
// buffer may not grow by doubling all the way up.

// memoryCase is a message a client sends, and what reading it must give.
type memoryCase struct {
	name       string
	compressed bool
	frames     func() []byte
	tooBig     bool // the read fails with 1009
	underRace  bool // run under the race detector too, which makes each case take seconds
}

// clientFrame encodes one masked frame. Its masking key is zero, which
// leaves the payload as it is and makes building 32 MiB of frames cheap;
// the Conn unmasks it all the same.
func clientFrame(fin bool, rsv uint8, op frame.Opcode, payload []byte) []byte {
	h := frame.Header{Fin: fin, Rsv: rsv, Opcode: op, Masked: true, Length: int64(len(payload))}
	return append(frame.AppendHeader(make([]byte, 0, h.Size()+len(payload)), h), payload...)
}

// zeroBlocks returns n zero bytes deflated and flushed: byte-aligned
// blocks that end with an empty stored block (00 00 ff ff).
func zeroBlocks(n int) []byte {
	var b bytes.Buffer
	w, _ := flate.NewWriter(&b, flate.BestCompression)
	w.Write(make([]byte, n))
	w.Flush()
	return b.Bytes()
}

// deflated returns n zero bytes compressed as one permessage-deflate
// message (RFC 7692 §7.2.1). It repeats the blocks of one MiB of zeros,
// which refer back no further than the zeros before them, so that a bomb
// of gigabytes costs no more than compressing one MiB.
func deflated(n int64) []byte {
	mib := zeroBlocks(1 << 20)
	var b []byte
	for ; n >= 1<<20; n -= 1 << 20 {
		b = append(b, mib...)
	}
	if n > 0 {
		b = append(b, zeroBlocks(int(n))...)
	}
	return bytes.TrimSuffix(b, []byte{0, 0, 0xff, 0xff})
}

// fragments returns a message of n bytes in frames of size bytes.
func fragments(n, size int) []byte {
	var b []byte
	chunk := bytes.Repeat([]byte{'x'}, size)
	op := frame.OpBinary
	for n > 0 {
		k := min(n, size)
		n -= k
		b = append(b, clientFrame(n == 0, 0, op, chunk[:k])...)
		op = frame.OpContinuation
	}
	return b
}

// compressedFragments returns a compressed message's payload in frames of
// size bytes.
func compressedFragments(payload []byte, size int) []byte {
	var b []byte
	rsv, op := frame.RSV1, frame.OpBinary
	for len(payload) > 0 {
		k := min(len(payload), size)
		b = append(b, clientFrame(k == len(payload), rsv, op, payload[:k])...)
		payload = payload[k:]
		rsv, op = 0, frame.OpContinuation
	}
	return b
}

func memoryCases() []memoryCase {
	const limit = DefaultReadLimit
	return []memoryCase{
		{"compressed bomb (4 GiB)", true, func() []byte { return clientFrame(true, frame.RSV1, frame.OpBinary, deflated(4<<30)) }, true, true},
		{"compressed bomb (4 GiB) in 16 KiB fragments", true, func() []byte { return compressedFragments(deflated(4<<30), 16<<10) }, true, false},
		{"compressed, at the limit", true, func() []byte { return clientFrame(true, frame.RSV1, frame.OpBinary, deflated(limit)) }, false, false},
		{"compressed, one byte past the limit", true, func() []byte { return clientFrame(true, frame.RSV1, frame.OpBinary, deflated(limit+1)) }, true, false},
		{"one frame at the limit", false, func() []byte { return clientFrame(true, 0, frame.OpBinary, make([]byte, limit)) }, false, true},
		{"32 KiB fragments up to the limit", false, func() []byte { return fragments(limit, 32<<10) }, false, true},
		{"32 KiB fragments past the limit", false, func() []byte { return fragments(limit+64<<10, 32<<10) }, true, false},
		{"1 KiB fragments up to the limit", false, func() []byte { return fragments(limit, 1<<10) }, false, false},
	}
}

// readCase reads the case's message from a fresh server Conn, with the
// default read limit, into a nil buffer (the worst case), and checks the
// outcome.
func readCase(mc memoryCase, in []byte) error {
	opts := &Options{}
	if mc.compressed {
		opts.Compression = &Compression{Params: deflate.Params{}}
	}
	c := NewConn(&recConn{in: in, discard: true}, nil, RoleServer, opts)
	_, msg, err := c.ReadMessage(bg, nil)
	switch {
	case mc.tooBig && closeCodeOf(err) != CloseMessageTooBig:
		return fmt.Errorf("read = %v, want 1009", err)
	case !mc.tooBig && (err != nil || len(msg) != DefaultReadLimit):
		return fmt.Errorf("read %d bytes, %v; want %d", len(msg), err, DefaultReadLimit)
	}
	runtime.KeepAlive(msg)
	return nil
}

// memoryBound is what reading a message may cost: 1.25 times the read
// limit and 1 MiB.
const memoryBound = DefaultReadLimit + DefaultReadLimit/4 + 1<<20

// The heap allocated while a message is read (runtime/metrics'
// /gc/heap/allocs:bytes, which counts every allocation, garbage included)
// bounds what the read can add to the process's memory.
func TestReadAtTheLimitAllocatesAboutTheLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("reads messages of 32 MiB")
	}
	sample := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	for _, mc := range memoryCases() {
		if raceEnabled && !mc.underRace {
			continue
		}
		in := mc.frames()
		runtime.GC()
		metrics.Read(sample)
		before := sample[0].Value.Uint64()
		if err := readCase(mc, in); err != nil {
			t.Errorf("%s: %v", mc.name, err)
			continue
		}
		metrics.Read(sample)
		got := sample[0].Value.Uint64() - before
		t.Logf("%s: %.1f MiB allocated (bound %.1f MiB)", mc.name, mib(got), mib(memoryBound))
		if got > memoryBound {
			t.Errorf("%s: reading it allocated %.1f MiB, over 1.25 × the %d MiB read limit + 1 MiB", mc.name, mib(got), DefaultReadLimit>>20)
		}
	}
}

// The same, as the operating system sees it: the growth of the peak
// resident set of a process that reads one such message (VmHWM, reset
// before the read through /proc/self/clear_refs). Each case runs in a
// child process of its own; the race detector's shadow memory would
// count, so it runs without it.
func TestReadAtTheLimitPeakRSS(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's shadow memory counts in the resident set")
	}
	if testing.Short() {
		t.Skip("runs child processes")
	}
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	if name := os.Getenv("WS_RSS_CASE"); name != "" {
		rssChild(name)
		return
	}
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		t.Skipf("cannot reset the peak resident set: %v", err)
	}
	for _, mc := range memoryCases() {
		cmd := exec.Command(os.Args[0], "-test.run=^TestReadAtTheLimitPeakRSS$", "-test.count=1")
		cmd.Env = append(os.Environ(), "WS_RSS_CASE="+mc.name)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("%s: child: %v\n%s", mc.name, err, out)
			continue
		}
		var grew int64
		for _, line := range strings.Split(string(out), "\n") {
			if v, ok := strings.CutPrefix(line, "peak RSS growth: "); ok {
				grew, _ = strconv.ParseInt(v, 10, 64)
			}
		}
		t.Logf("%s: peak RSS grew %.1f MiB (bound %.1f MiB)", mc.name, mib(uint64(grew)), mib(memoryBound))
		if grew <= 0 || grew > memoryBound {
			t.Errorf("%s: peak RSS grew %.1f MiB, over 1.25 × the %d MiB read limit + 1 MiB\n%s", mc.name, mib(uint64(grew)), DefaultReadLimit>>20, out)
		}
	}
}

// rssChild reads the named case and prints the growth of the peak RSS.
func rssChild(name string) {
	for _, mc := range memoryCases() {
		if mc.name != name {
			continue
		}
		in := mc.frames()
		runtime.GC()
		debug.FreeOSMemory()
		os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
		base := procStatus("VmRSS")
		if err := readCase(mc, in); err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Printf("peak RSS growth: %d\n", procStatus("VmHWM")-base)
		runtime.KeepAlive(in)
		os.Exit(0)
	}
	fmt.Println("no case", name)
	os.Exit(1)
}

// procStatus returns a field of /proc/self/status in bytes.
func procStatus(field string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		panic(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				panic(err)
			}
			return kb << 10
		}
	}
	panic(errors.New("no " + field + " in /proc/self/status"))
}

func mib(n uint64) float64 { return float64(n) / (1 << 20) }
