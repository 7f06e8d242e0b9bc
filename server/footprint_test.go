package server

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/deflate"
)

// The footprint of an idle connection served the README's way: a
// goroutine per connection running a ReadMessage/WriteMessage echo loop
// that hands its buffer back (bench/internal/echo's oursEcho).
//
// A goroutine starts with a 2 KiB stack and may use about 1,120 bytes of
// it (the rest is the runtime's guard for functions that do not check);
// a deeper call doubles it to 4 KiB, and the runtime never halves a
// stack parked in a read again (it shrinks one only below a quarter in
// use, counting the guard). So every frame of the read path (the wait for
// readability, the read system call, the core's parsing and UTF-8 check,
// a ping's pong) and of the write path, from the goroutine's first frame
// down, must fit in that budget, or each idle connection costs 2 KiB more.

// footprintConns is how many connections the footprint tests open:
// enough that the stack pool's 32 KiB spans round to a few bytes per
// connection. FOOTPRINT_CONNS overrides it (the measurement of issue 17
// uses 2,000 or 10,000).
func footprintConns(t *testing.T) int {
	n := 1000
	if s := os.Getenv("FOOTPRINT_CONNS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v <= 0 {
			t.Fatalf("FOOTPRINT_CONNS=%q", s)
		}
		n = v
	}
	return n
}

// footprintEcho is oursEcho.
func footprintEcho(c *ws.Conn) {
	ctx := context.Background()
	var buf []byte
	for {
		typ, msg, err := c.ReadMessage(ctx, buf[:0])
		if err != nil {
			return
		}
		if err := c.WriteMessage(ctx, typ, msg); err != nil {
			return
		}
		buf = msg
	}
}

// A goroutine's stack moves when it grows (a 2 KiB stack cannot shrink),
// so the address of a local variable tells whether it grew: a connection's
// goroutine notes it first thing, and checks it when it ends.

// stackMoved counts the connection goroutines whose stack moved;
// connsEnded counts those that ended.
var stackMoved, connsEnded atomic.Int64

// checkedEcho is footprintEcho that watches its goroutine's stack, with
// frames of about the same size: it notes the address of a variable when
// it starts and looks again after each call (a GC may shrink a grown stack
// back while the goroutine uses little between calls, possibly into the
// memory it had before), and counts the goroutine when it ends.
func checkedEcho(c *ws.Conn) {
	var mark byte
	at := uintptr(unsafe.Pointer(&mark))
	ctx := context.Background()
	var buf []byte
	moved := false
	for {
		// (Not after an error: the connection is over, whatever its
		// end takes.)
		typ, msg, err := c.ReadMessage(ctx, buf[:0])
		if err != nil {
			break
		}
		moved = moved || uintptr(unsafe.Pointer(&mark)) != at
		if err := c.WriteMessage(ctx, typ, msg); err != nil {
			break
		}
		moved = moved || uintptr(unsafe.Pointer(&mark)) != at
		buf = msg
	}
	if moved {
		stackMoved.Add(1)
	}
	connsEnded.Add(1)
}

// footprintClient is the client end of one connection, driven by the
// test's goroutine (the client holds no goroutine, so the process's
// goroutine stacks are the server's).
type footprintClient struct {
	nc  net.Conn
	buf []byte
}

// footprintKey is the client's Sec-WebSocket-Key.
const footprintKey = "dGhlIHNhbXBsZSBub25jZQ=="

// dialFootprint connects and completes the opening handshake, offering
// permessage-deflate if deflate is set.
func dialFootprint(addr string, deflate bool) (*footprintClient, error) {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	nc.SetDeadline(time.Now().Add(testTimeout))
	req := "GET /ws HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + footprintKey + "\r\nSec-WebSocket-Version: 13\r\n"
	if deflate {
		req += "Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover\r\n"
	}
	if _, err := io.WriteString(nc, req+"\r\n"); err != nil {
		nc.Close()
		return nil, err
	}
	fc := &footprintClient{nc: nc, buf: make([]byte, 0, 8<<10)}
	for {
		if i := bytes.Index(fc.buf, []byte("\r\n\r\n")); i >= 0 {
			if !bytes.HasPrefix(fc.buf, []byte("HTTP/1.1 101 ")) {
				nc.Close()
				return nil, fmt.Errorf("handshake answered %q", fc.buf[:i])
			}
			if deflate != bytes.Contains(fc.buf[:i], []byte("permessage-deflate")) {
				nc.Close()
				return nil, fmt.Errorf("permessage-deflate: offered %v, answered %q", deflate, fc.buf[:i])
			}
			fc.buf = fc.buf[:copy(fc.buf, fc.buf[i+4:])]
			return fc, nil
		}
		if err := fc.more(); err != nil {
			nc.Close()
			return nil, err
		}
	}
}

func (fc *footprintClient) more() error {
	if fc.buf == nil {
		fc.buf = make([]byte, 0, 8<<10)
	}
	if len(fc.buf) == cap(fc.buf) {
		fc.buf = append(fc.buf, 0)[:len(fc.buf)]
	}
	n, err := fc.nc.Read(fc.buf[len(fc.buf):cap(fc.buf)])
	fc.buf = fc.buf[:len(fc.buf)+n]
	if n > 0 {
		return nil
	}
	return err
}

// send writes one final, masked frame.
func (fc *footprintClient) send(op byte, payload []byte) error {
	b := []byte{0x80 | op, 0x80}
	switch n := len(payload); {
	case n < 126:
		b[1] |= byte(n)
	case n < 1<<16:
		b[1] |= 126
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b[1] |= 127
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	b = append(b, key[:]...)
	for i, c := range payload {
		b = append(b, c^key[i%4])
	}
	_, err := fc.nc.Write(b)
	return err
}

// expect reads one unmasked frame and checks it is op with payload.
func (fc *footprintClient) expect(op byte, payload []byte) error {
	for {
		if len(fc.buf) >= 2 {
			n, h := int(fc.buf[1]&0x7f), 2
			switch n {
			case 126:
				if len(fc.buf) < 4 {
					goto more
				}
				n, h = int(binary.BigEndian.Uint16(fc.buf[2:])), 4
			case 127:
				if len(fc.buf) < 10 {
					goto more
				}
				n, h = int(binary.BigEndian.Uint64(fc.buf[2:])), 10
			}
			if len(fc.buf) >= h+n {
				got := fc.buf[h : h+n]
				if fc.buf[0] == 0xC0|op { // RFC 7692: compressed
					z, err := io.ReadAll(flate.NewReader(io.MultiReader(bytes.NewReader(got), bytes.NewReader([]byte{0, 0, 0xff, 0xff}))))
					if err != nil && err != io.ErrUnexpectedEOF {
						return err
					}
					got = z
				} else if fc.buf[0] != 0x80|op {
					return fmt.Errorf("got frame %#x, want %#x", fc.buf[0], 0x80|op)
				}
				if !bytes.Equal(got, payload) {
					return fmt.Errorf("got frame %#x with %d bytes, want %#x with %d", fc.buf[0], n, 0x80|op, len(payload))
				}
				fc.buf = fc.buf[:copy(fc.buf, fc.buf[h+n:])]
				return nil
			}
		}
	more:
		if err := fc.more(); err != nil {
			return err
		}
	}
}

// exchange echoes a text message of 16 bytes, then (if full) 1 KiB of
// text with multi-byte characters (1,026 bytes), a binary message of
// 4 KiB and a ping. The echo loop keeps the buffer of its largest
// message, so the heap figures of the bench's idle case, whose
// connections echo 16 bytes, come from exchanges that are not full.
//
// FOOTPRINT_ONLY, for finding which message takes a goroutine past its
// stack, keeps only the messages of one opcode: 1 (the texts), 2 (the
// binary message) or 9 (the ping).
func (fc *footprintClient) exchange(full bool) error {
	text := bytes.Repeat([]byte("0123456789abcdef"), 1)
	utf := bytes.Repeat([]byte("héllo wörld €\u00a0"), 54) // 19 bytes each
	bin := bytes.Repeat([]byte{0, 1, 2, 0xff}, 1<<10)
	for _, m := range []struct {
		op byte
		p  []byte
	}{{0x1, text}, {0x1, utf}, {0x2, bin}} {
		if !full && len(m.p) > len(text) {
			break
		}
		if o := os.Getenv("FOOTPRINT_ONLY"); o != "" && o != string(rune('0'+m.op)) {
			continue
		}
		if err := fc.send(m.op, m.p); err != nil {
			return err
		}
		if err := fc.expect(m.op, m.p); err != nil {
			return err
		}
	}
	if !full {
		return nil
	}
	if o := os.Getenv("FOOTPRINT_ONLY"); o != "" && o != "9" {
		return nil
	}
	if err := fc.send(0x9, []byte("ping")); err != nil {
		return err
	}
	return fc.expect(0xA, []byte("ping"))
}

// footprint is what N idle connections cost the process, per connection.
type footprint struct {
	stack, stackGC float64 // StackInuse, raw and after a GC
	heap, heapGC   float64 // HeapInuse, raw and after a GC
	goroutines     int     // goroutines the connections added
	moved          int     // echo goroutines whose stack grew
	start          float64 // the stack a new goroutine gets then (StackInuse of 1,000 parked ones)
	conns          int
}

func (f footprint) String() string {
	return fmt.Sprintf("%d connections, %d goroutines, %d stacks grew: stacks %.0f B raw, %.0f B after a GC; heap %.0f B raw, %.0f B after a GC; a new goroutine's stack then %.0f B",
		f.conns, f.goroutines, f.moved, f.stack, f.stackGC, f.heap, f.heapGC, f.start)
}

func memStats() runtime.MemStats {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms
}

func gcTwice() {
	runtime.GC()
	runtime.GC()
}

// measureFootprint opens n connections to addr, echoes on each, and
// measures what they cost once idle. start runs the server's accept side;
// it returns once the server is listening and is called with the
// listener.
func measureFootprint(t *testing.T, n int, full, deflate bool, serve func(ln net.Listener) (stop func())) footprint {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	stop := serve(ln)
	addr := ln.Addr().String()
	// One connection first, so that the server's lazily made state
	// (pools, the Server's map) is not counted.
	warm, err := dialFootprint(addr, deflate)
	if err != nil {
		t.Fatal(err)
	}
	if err := warm.exchange(true); err != nil {
		t.Fatal(err)
	}
	waitParked(t, 1)
	gcTwice()
	before := memStats()
	g0 := runtime.NumGoroutine()
	moved0, ended0 := stackMoved.Load(), connsEnded.Load()
	clients := make([]*footprintClient, 0, n)
	closed := false
	closeAll := func() {
		if closed {
			return
		}
		closed = true
		for _, fc := range clients {
			fc.nc.Close()
		}
		warm.nc.Close()
		stop()
	}
	defer closeAll()
	for range n {
		fc, err := dialFootprint(addr, deflate)
		if err != nil {
			t.Fatalf("connection %d: %v", len(clients), err)
		}
		clients = append(clients, fc)
		if err := fc.exchange(full); err != nil {
			t.Fatalf("connection %d: %v", len(clients), err)
		}
		fc.buf = nil // the client's end holds no buffer: the heap is the server's and the sockets'
	}
	// Every server goroutine has sent its last echo; wait until all of
	// them are back in ReadMessage (they may still be unwinding).
	waitParked(t, n+1)
	raw := memStats()
	gcTwice()
	after := memStats()
	start := startingStack()
	f := footprint{
		start:      start,
		conns:      n,
		goroutines: runtime.NumGoroutine() - g0,
		stack:      float64(raw.StackInuse-before.StackInuse) / float64(n),
		stackGC:    float64(after.StackInuse-before.StackInuse) / float64(n),
		heap:       float64(int64(raw.HeapInuse)-int64(before.HeapInuse)) / float64(n),
		heapGC:     float64(int64(after.HeapInuse)-int64(before.HeapInuse)) / float64(n),
	}
	// The goroutines check their stacks as they end.
	closeAll()
	deadline := time.Now().Add(testTimeout)
	for connsEnded.Load()-ended0 < int64(n+1) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d connection goroutines ended", connsEnded.Load()-ended0, n+1)
		}
		time.Sleep(time.Millisecond)
	}
	f.moved = int(stackMoved.Load() - moved0)
	return f
}

// startingStack measures the stack the runtime gives a new goroutine now
// (it adapts it at each GC to the average it found in use, plus its
// guard): the StackInuse of 1,000 goroutines that block at once.
func startingStack() float64 {
	const n = 1000
	block := make(chan struct{})
	var started sync.WaitGroup
	started.Add(n)
	before := memStats()
	for range n {
		go func() {
			started.Done()
			<-block
		}()
	}
	started.Wait()
	after := memStats()
	close(block)
	return float64(after.StackInuse-before.StackInuse) / n
}

// waitParked waits until want goroutines are parked in checkedEcho,
// waiting for input.
func waitParked(t *testing.T, want int) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for {
		n := parkedEchoes()
		if n == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d echo goroutines waiting for input, want %d", n, want)
		}
		time.Sleep(time.Millisecond)
	}
}

// dumpBuf holds parkedEchoes's dumps (made once: it is not counted).
var dumpBuf []byte

// parkedEchoes counts the goroutines in checkedEcho that wait for
// input, from a dump of every goroutine's stack.
func parkedEchoes() int {
	if dumpBuf == nil {
		dumpBuf = make([]byte, 64<<20)
	}
	buf := dumpBuf[:runtime.Stack(dumpBuf, true)]
	n := 0
	for _, g := range bytes.Split(buf, []byte("\n\n")) {
		if bytes.Contains(g, []byte("checkedEcho(")) && bytes.Contains(g, []byte("[IO wait")) {
			n++
		}
	}
	return n
}

// bareFootprint measures the heap a bare loopback TCP pair costs this
// process with both ends in it: what a test's client end adds to the
// heap figure, and what a connection costs without any library.
func bareFootprint(t *testing.T, n int) float64 {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	gcTwice()
	before := memStats()
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range n {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		s, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c, s)
	}
	gcTwice()
	after := memStats()
	runtime.KeepAlive(conns)
	return float64(int64(after.HeapInuse)-int64(before.HeapInuse)) / float64(n)
}

// footprintServers are the ways a goroutine per connection is served.
var footprintServers = []struct {
	name  string
	serve func(opts *Options) func(ln net.Listener) func()
}{
	{"Handler", func(opts *Options) func(ln net.Listener) func() {
		return func(ln net.Listener) func() {
			s := Handler(checkedEcho)
			s.Options = *opts
			hs := &http.Server{Handler: s}
			go hs.Serve(ln)
			return func() {
				ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
				defer cancel()
				Shutdown(ctx, hs, s)
			}
		}
	}},
	{"UpgradeConn", func(opts *Options) func(ln net.Listener) func() {
		return rawFootprintServer(func(nc net.Conn, wg *sync.WaitGroup) {
			defer wg.Done()
			c, _, err := UpgradeConn(nc, opts)
			if err != nil {
				connsEnded.Add(1)
				return
			}
			defer c.CloseNow()
			checkedEcho(c)
		})
	}},
	{"AcceptConn", func(opts *Options) func(ln net.Listener) func() {
		return rawFootprintServer(func(nc net.Conn, wg *sync.WaitGroup) {
			defer wg.Done()
			c, _, err := AcceptConn(nc, opts)
			if err != nil {
				connsEnded.Add(1)
				return
			}
			defer c.CloseNow()
			checkedEcho(c)
		})
	}},
}

// rawFootprintServer accepts on a listener and runs handle for each
// connection on a goroutine of its own (as bench's oursconn does), which
// calls wg.Done when it ends.
func rawFootprintServer(handle func(net.Conn, *sync.WaitGroup)) func(ln net.Listener) func() {
	return func(ln net.Listener) func() {
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				nc, err := ln.Accept()
				if err != nil {
					return
				}
				wg.Add(1)
				go handle(nc, &wg)
			}
		}()
		return func() {
			ln.Close()
			// The connections' client ends are closed first: the
			// goroutines end.
			wg.Wait()
		}
	}
}

// TestIdleStackEchoStays2KiB checks that the goroutine of an idle echo
// connection keeps a 2 KiB stack, through server.Handler, UpgradeConn and
// AcceptConn: that echoing text (UTF-8 checked), binary messages up to
// 4 KiB and a ping never takes it past the part of a 2 KiB stack it may
// use, and that the part it uses while parked is small enough that the
// runtime's adaptive starting size (the average a GC finds in use, plus
// the guard) stays at 2 KiB. Each case runs in a process of its own (the
// starting size depends on every goroutine of the process). The race
// detector's instrumentation makes frames larger, so it runs without it
// (.ci/run's step of the allocation and memory tests).
func TestIdleStackEchoStays2KiB(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's instrumentation changes stack frames")
	}
	n := footprintConns(t)
	if child := os.Getenv("FOOTPRINT_CHILD"); child != "" {
		for _, fs := range footprintServers {
			if fs.name == child {
				f := measureFootprint(t, n, true, false, fs.serve(&Options{}))
				fmt.Printf("footprint: %.0f %d %.0f\n%v\n", f.stackGC, f.moved, f.start, f)
				return
			}
		}
		t.Fatalf("no server %q", child)
	}
	// run measures in a process of its own, with the runtime's adaptive
	// starting stack size on or off.
	run := func(t *testing.T, server string, adaptive bool) (stack float64, moved int, start float64) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestIdleStackEchoStays2KiB$", "-test.count=1", "-test.timeout=5m")
		cmd.Env = append(os.Environ(), "FOOTPRINT_CHILD="+server)
		if !adaptive {
			cmd.Env = append(cmd.Env, "GODEBUG=adaptivestackstart=0")
		}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		for _, line := range strings.Split(string(out), "\n") {
			if v, ok := strings.CutPrefix(line, "footprint: "); ok {
				fmt.Sscan(v, &stack, &moved, &start)
			}
		}
		t.Logf("adaptive starting stacks %v: %s", adaptive, out)
		return stack, moved, start
	}
	for _, fs := range footprintServers {
		t.Run(fs.name, func(t *testing.T) {
			// Every goroutine starts with 2 KiB: none may grow on the
			// paths of the echo loop. A few may, on the runtime's
			// rare ones below an allocation (the allocation that
			// starts a GC, or needs a new span, goes deep); 2% is
			// far more than those, and far less than a path of the
			// loop's own, which grows every stack.
			stack, moved, _ := run(t, fs.name, false)
			if moved > n/50 || stack > 2048+256 {
				t.Errorf("the stacks of %d of %d echo goroutines grew past 2 KiB (%.0f B of stacks per idle connection): a path of the echo loop is deeper than a 2 KiB stack allows", moved, n, stack)
			}
			// The runtime's default: once a GC has seen the idle
			// connections, a new goroutine gets 2 KiB, which it does
			// only if the average goroutine it scanned uses at most
			// 2 KiB less its guard: the echo loop waiting for input
			// must be shallow enough.
			_, _, start := run(t, fs.name, true)
			if start > 2048+256 {
				t.Errorf("with %d idle connections a new goroutine starts with %.0f B of stack, not 2 KiB: a goroutine waiting in ReadMessage uses more than 2 KiB less the runtime's guard", n, start)
			}
		})
	}
}

// TestIdleFootprint reports what idle connections cost, with and without
// permessage-deflate; it checks nothing (-v shows it). Run it without the
// race detector, e.g. FOOTPRINT_CONNS=2000 go test -run IdleFootprint -v.
func TestIdleFootprint(t *testing.T) {
	if raceEnabled || testing.Short() {
		t.Skip("a measurement, without the race detector")
	}
	n := footprintConns(t)
	t.Logf("a bare TCP pair, both ends in this process: %.0f B of heap after a GC", bareFootprint(t, n))
	for _, fs := range footprintServers {
		for _, compressed := range []bool{false, true} {
			name := fs.name
			opts := &Options{}
			if compressed {
				name += "/deflate"
				opts.Compression = &deflate.ServerConfig{Level: deflate.BestSpeed}
			}
			t.Run(name, func(t *testing.T) {
				t.Log(measureFootprint(t, n, false, compressed, fs.serve(opts)))
			})
		}
	}
}
