//go:build !race

// The race detector's instrumentation makes stack frames larger: the
// stack-size test runs only without it.

package socketio_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"runtime/metrics"
	"strings"
	"testing"
	"time"

	"github.com/rfc6455/ws/engineio"
	"github.com/rfc6455/ws/socketio"
)

// TestIdleStackSocketIOReader checks that the goroutine that reads an idle
// WebSocket connection (the goroutine driver) waits for the next message
// on a 2 KiB stack, the size a goroutine starts with: after the
// connection's CONNECT, whose handling goes deeper than 2 KiB allow, and
// after events whose handlers went deep (here, on purpose, to 8 KiB),
// once the heartbeat's pong has come. A reader whose stack grew would keep
// it while the connection is idle (the runtime does not shrink a stack
// parked that deep), twice the memory or more per idle connection.
//
// It measures the stacks in use per connection in a child process, with
// the runtime's adaptive starting stack size off (every goroutine starts
// with 2 KiB, so a reader of more has grown) and on (the default: then a
// new goroutine starts with 2 KiB only if the goroutines the collector
// scanned use little of theirs on average, which the idle readers are
// most of).
func TestIdleStackSocketIOReader(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes with hundreds of connections")
	}
	const n = 256
	if os.Getenv("SIO_READER_STACK_CHILD") != "" {
		connected, pong, start := measureReaderStacks(t, n)
		fmt.Printf("reader stacks: %.0f %.0f %d\n", connected, pong, start)
		return
	}
	for _, adaptive := range []bool{false, true} {
		t.Run(fmt.Sprintf("adaptive=%v", adaptive), func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestIdleStackSocketIOReader$", "-test.count=1", "-test.timeout=5m")
			cmd.Env = append(os.Environ(), "SIO_READER_STACK_CHILD=1")
			if !adaptive {
				cmd.Env = append(cmd.Env, "GODEBUG=adaptivestackstart=0")
			}
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			connected, pong, start := -1.0, -1.0, -1
			for _, line := range strings.Split(string(out), "\n") {
				if v, ok := strings.CutPrefix(line, "reader stacks: "); ok {
					fmt.Sscan(v, &connected, &pong, &start)
				}
			}
			if start < 0 {
				t.Fatalf("no measurement in the child's output:\n%s", out)
			}
			t.Logf("stack bytes per idle connection: %.0f after CONNECT, %.0f after deep events and a pong; a new goroutine's stack: %d bytes", connected, pong, start)
			if adaptive {
				// The goroutines the collector scanned, the idle
				// readers most of them, use at most 2 KiB less the
				// runtime's guard on average: a new goroutine (a
				// renewed reader) starts with 2 KiB.
				if start > 2048 {
					t.Errorf("with %d idle connections a new goroutine starts with %d bytes of stack, not 2 KiB: the readers wait too deep in their stacks", n, start)
				}
				return
			}
			// Every goroutine starts with 2 KiB: a reader that grew
			// holds 4 KiB or more (4.5–6 KiB per connection measured
			// without the renewals). The slack is for the runtime's
			// stack spans (partly used ones) and the few readers a deep
			// runtime path (a GC assist, a span refill) grows: 2.2–2.7
			// KiB measured, on a busy machine too.
			const limit = 3584
			if connected > limit {
				t.Errorf("%.0f bytes of stack per idle connection after its CONNECT: the reading goroutine waits on a grown stack", connected)
			}
			if pong > limit {
				t.Errorf("%.0f bytes of stack per idle connection after deep events and the heartbeat's pong: the reading goroutine was not renewed", pong)
			}
		})
	}
}

// measureReaderStacks connects n raw WebSocket clients (no goroutine of
// their own in this process) to a Socket.IO server, and returns the bytes
// of stack in use per connection once they are idle: after their
// CONNECT, then after an event whose handler goes 8 KiB deep and the pong
// of the next ping; and the stack a new goroutine starts with then.
func measureReaderStacks(t *testing.T, n int) (connected, pong float64, start uint64) {
	sio := socketio.NewServer(&socketio.Options{
		Logger: quiet(),
		// Pings come often enough for the test, and an unanswered one
		// does not close the connection meanwhile.
		EngineIO: engineio.Options{PingInterval: 200 * time.Millisecond, PingTimeout: time.Minute},
	})
	socketio.OnAck(sio, "deep", func(ctx context.Context, s *socketio.Socket, _ struct{}) (int, error) {
		return deepStack(48), nil
	})
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", sio)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	addr := srv.Listener.Addr().String()

	// One connection first, so that what the server makes once is not
	// counted.
	warm := dialRawSIO(t, addr)
	warm.event(t)
	warm.pong(t)
	// settle waits until at most want goroutines run (the workers and
	// writers of sockets are gone), then collects twice, which frees
	// the stacks of the goroutines that ended.
	settle := func(want int) runtime.MemStats {
		deadline := time.Now().Add(time.Minute)
		for runtime.NumGoroutine() > want {
			if time.Now().After(deadline) {
				t.Fatalf("%d goroutines, want %d", runtime.NumGoroutine(), want)
			}
			time.Sleep(5 * time.Millisecond)
		}
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms
	}
	// The goroutines of the server and of the warm connection: the
	// fewest seen over a while (a socket's worker lingers after its
	// events, a ping's writer runs briefly).
	g0 := runtime.NumGoroutine()
	for range 40 {
		time.Sleep(5 * time.Millisecond)
		g0 = min(g0, runtime.NumGoroutine())
	}
	before := settle(g0)
	conns := make([]*rawSIO, n)
	for i := range conns {
		conns[i] = dialRawSIO(t, addr)
	}
	// Each connection has its reading goroutine, and no other.
	ms := settle(g0 + n)
	connected = float64(ms.StackInuse-before.StackInuse) / float64(n)
	for _, c := range conns {
		c.event(t)
	}
	for _, c := range conns {
		c.pong(t)
	}
	ms = settle(g0 + n)
	pong = float64(ms.StackInuse-before.StackInuse) / float64(n)
	sample := []metrics.Sample{{Name: "/gc/stack/starting-size:bytes"}}
	metrics.Read(sample)
	start = sample[0].Value.Uint64()
	for _, c := range conns {
		c.nc.Close()
	}
	warm.nc.Close()
	return connected, pong, start
}

// deepStack uses about 160 bytes of stack per level.
//
//go:noinline
func deepStack(n int) int {
	var b [128]byte
	b[n%len(b)] = byte(n)
	if n == 0 {
		return int(b[0])
	}
	return deepStack(n-1) + int(b[n%len(b)])
}

// rawSIO is a Socket.IO client on a bare WebSocket connection, read and
// written by the test's goroutine.
type rawSIO struct {
	nc   net.Conn
	r    *bufio.Reader
	ping bool // a ping came that was not answered yet
}

func dialRawSIO(t *testing.T, addr string) *rawSIO {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	nc.SetDeadline(time.Now().Add(time.Minute))
	key := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef"))
	fmt.Fprintf(nc, "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", addr, key)
	c := &rawSIO{nc: nc, r: bufio.NewReader(nc)}
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %s", resp.Status)
	}
	c.expect(t, "0{") // Engine.IO open
	c.send(t, "40")   // CONNECT to "/"
	c.expect(t, "40{")
	return c
}

// event emits "deep" with an ack id and waits for the ack.
func (c *rawSIO) event(t *testing.T) {
	t.Helper()
	c.send(t, `421["deep"]`)
	c.expect(t, "431[")
}

// pong waits for the next ping and answers it.
func (c *rawSIO) pong(t *testing.T) {
	t.Helper()
	if !c.ping {
		c.expect(t, "2")
	}
	c.ping = false
	c.send(t, "3")
}

// expect reads text messages until one starting with prefix, noting a
// ping on the way.
func (c *rawSIO) expect(t *testing.T, prefix string) {
	t.Helper()
	for {
		var h [2]byte
		if _, err := io.ReadFull(c.r, h[:]); err != nil {
			t.Fatalf("waiting for %q: %v", prefix, err)
		}
		size := int(h[1] & 0x7f)
		if size == 126 {
			var ext [2]byte
			if _, err := io.ReadFull(c.r, ext[:]); err != nil {
				t.Fatal(err)
			}
			size = int(ext[0])<<8 | int(ext[1])
		}
		msg := make([]byte, size)
		if _, err := io.ReadFull(c.r, msg); err != nil {
			t.Fatal(err)
		}
		if h[0]&0x0f != 1 {
			t.Fatalf("waiting for %q: frame %#x", prefix, h[0])
		}
		if string(msg) == "2" && prefix != "2" {
			c.ping = true
			continue
		}
		if strings.HasPrefix(string(msg), prefix) {
			return
		}
	}
}

// send writes a masked text frame (RFC 6455 §5.3).
func (c *rawSIO) send(t *testing.T, msg string) {
	t.Helper()
	mask := [4]byte{1, 2, 3, 4}
	b := []byte{0x81, 0x80 | byte(len(msg)), mask[0], mask[1], mask[2], mask[3]}
	for i := range len(msg) {
		b = append(b, msg[i]^mask[i%4])
	}
	if _, err := c.nc.Write(b); err != nil {
		t.Fatal(err)
	}
}
