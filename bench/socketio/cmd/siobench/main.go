// Command siobench compares Socket.IO servers under one load client: this
// module's (socketio, on engineio; "ours" with a goroutine per connection,
// "ours-loop" on the event-loop driver), the Node reference server (socket.io
// 4.8.x on Node) and zishang520/socket.io v3.0.6 (Go), each in its own
// process, the load client in this one. It runs every case against every
// server, then again (-passes), and prints one table per figure with each
// pass's value and our ratio to each other server from the same pass.
//
// Cases:
//   - broadcast: 1,000 WebSocket sockets in room "bench"; a driver socket
//     asks the server to emit "msg" to the room in blasts; deliveries per
//     second counted at the receivers, server CPU per delivery.
//   - echo: 64 WebSocket sockets, each emitting "echo" with an ack and
//     waiting for it, in a closed loop; round trips per second, p50 and
//     p99 latency, server CPU per ack.
//   - idle memory: 10,000 sockets on WebSocket, and 1,000 on polling, each
//     on a fresh server process; the server's RSS growth per socket.
//
// The load client's own CPU is reported next to each throughput figure: on
// a 2-core machine it competes with the server.
//
//	cd bench/socketio && go run ./cmd/siobench -o RESULTS.md
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/rfc6455/ws"
)

var (
	flagServers = flag.String("servers", "ours,ours-loop,node,zishang,floor,floor-uring", "servers to compare, of ours, ours-loop (ours on the event-loop driver), node, zishang, floor (hand-written on epoll: echo and idle-ws only), floor-uring (the floor on io_uring, Linux: echo and idle-ws only)")
	flagPasses  = flag.Int("passes", 2, "passes over every case")
	flagWindow  = flag.Duration("window", 5*time.Second, "measurement window of the throughput cases")
	flagWarm    = flag.Duration("warmup", time.Second, "warm-up before each window")
	flagBcast   = flag.Int("broadcast-sockets", 1000, "sockets in the broadcast room")
	flagEcho    = flag.Int("echo-sockets", 64, "sockets of the echo case")
	flagIdleWS  = flag.Int("idle-ws", 10000, "idle WebSocket sockets")
	flagIdlePol = flag.Int("idle-polling", 1000, "idle polling sockets")
	flagIdle    = flag.Duration("idle-wait", 10*time.Second, "how long the idle sockets stay connected before the server's memory is read")
	flagCases   = flag.String("cases", "broadcast,echo,idle-ws,idle-polling", "cases to run")
	flagOut     = flag.String("o", "", "also write the report to this file")
	flagProfile = flag.String("cpuprofile", "", "write the load client's CPU profile to this file")
	flagSrvProf = flag.String("server-profile", "", "run our server with -cpuprofile FILE (the last process started wins)")
	flagNode    = flag.String("node-modules", "../../interop/node_modules", "node_modules with socket.io (bash interop/install.sh)")
)

// payload is the event argument of both throughput cases: 64 bytes of
// text, as JSON.
var payload = `"` + strings.Repeat("x", 62) + `"`

func main() {
	flag.Parse()
	log.SetFlags(log.Ltime)
	raiseFileLimit()
	if *flagProfile != "" {
		f, err := os.Create(*flagProfile)
		if err != nil {
			log.Fatal(err)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	servers := strings.Split(*flagServers, ",")
	cases := strings.Split(*flagCases, ",")
	dir, err := os.MkdirTemp("", "siobench")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	bins := map[string][]string{}
	for _, s := range servers {
		switch s {
		case "ours", "ours-loop", "zishang", "floor", "floor-uring":
			pkg := strings.ReplaceAll(strings.TrimSuffix(s, "-loop"), "-", "")
			bin := filepath.Join(dir, pkg)
			build := exec.Command("go", "build", "-o", bin, "./servers/"+pkg)
			build.Stdout, build.Stderr = os.Stderr, os.Stderr
			if err := build.Run(); err != nil {
				log.Fatalf("building %s: %v", s, err)
			}
			bins[s] = []string{bin}
			if s == "ours-loop" {
				bins[s] = append(bins[s], "-loop")
			}
			if pkg == "ours" && *flagSrvProf != "" {
				bins[s] = append(bins[s], "-cpuprofile", *flagSrvProf)
			}
			if pkg == "ours" && os.Getenv("SIOBENCH_PPROF") != "" {
				bins[s] = append(bins[s], "-pprof", os.Getenv("SIOBENCH_PPROF"))
			}
		case "node":
			mods, _ := filepath.Abs(*flagNode)
			if _, err := os.Stat(filepath.Join(mods, "socket.io")); err != nil {
				log.Fatalf("socket.io is not in %s: run bash interop/install.sh", mods)
			}
			os.Setenv("NODE_PATH", mods)
			bins[s] = []string{"node", "servers/node/server.js"}
		default:
			log.Fatalf("unknown server %q", s)
		}
	}
	start := time.Now()
	rep := &report{servers: servers, passes: *flagPasses, values: map[string]map[string][]float64{}}
	rep.header = fmt.Sprintf("Machine: %d CPUs, %s. Date: %s. Load average %s at the start",
		numCPU(), cpuModel(), time.Now().UTC().Format("2006-01-02 15:04 UTC"), loadAvg())
	ctx := context.Background()
	for pass := 0; pass < *flagPasses; pass++ {
		for _, srv := range servers {
			// The floors serve the echo and idle WebSocket cases only.
			has := func(c string) bool {
				return slices.Contains(cases, c) && (!isFloor(srv) || c == "echo" || c == "idle-ws")
			}
			if has("broadcast") || has("echo") {
				p, err := startServer(srv, bins[srv])
				if err != nil {
					log.Fatal(err)
				}
				if has("broadcast") {
					runBroadcast(ctx, rep, srv, p)
				}
				if has("echo") {
					runEcho(ctx, rep, srv, p)
				}
				p.stop()
			}
			for _, c := range []struct {
				name, transport string
				n               int
			}{{"idle-ws", "websocket", *flagIdleWS}, {"idle-polling", "polling", *flagIdlePol}} {
				if !has(c.name) {
					continue
				}
				p, err := startServer(srv, bins[srv])
				if err != nil {
					log.Fatal(err)
				}
				runIdle(ctx, rep, srv, p, c.name, c.transport, c.n)
				p.stop()
			}
		}
	}
	rep.footer = fmt.Sprintf("Load average %s at the end; the run took %s.", loadAvg(), time.Since(start).Round(time.Second))
	out := rep.String()
	fmt.Print(out)
	if *flagOut != "" {
		if err := os.WriteFile(*flagOut, []byte(out), 0o644); err != nil {
			log.Fatal(err)
		}
	}
}

// isFloor reports whether a server is one of the floors (floor,
// floor-uring): measuring sticks that serve the echo and idle WebSocket
// cases only.
func isFloor(srv string) bool { return strings.HasPrefix(srv, "floor") }

func numCPU() int { return runtime.NumCPU() }

// raiseFileLimit lifts the open-file limit to its hard maximum, for 10,000
// connections on each side (the servers inherit it).
func raiseFileLimit() {
	var l syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l) == nil && l.Cur < l.Max {
		l.Cur = l.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
	}
}

// process is a server under test.
type process struct {
	name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	url   string
	pid   int
}

func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func startServer(name string, argv []string) (*process, error) {
	addr := freeAddr()
	cmd := exec.Command(argv[0], append(argv[1:], "-addr", addr)...)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "listening") {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, fmt.Errorf("%s did not start: %q %v", name, line, err)
	}
	go io.Copy(io.Discard, stdout)
	time.Sleep(300 * time.Millisecond) // let it settle before a baseline
	return &process{name: name, cmd: cmd, stdin: stdin, url: "http://" + addr, pid: cmd.Process.Pid}, nil
}

func (p *process) stop() {
	p.stdin.Close()
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		p.cmd.Process.Kill()
		<-done
	}
}

// cpuMark is the CPU time of the server and of this process at an instant.
type cpuMark struct {
	server, client time.Duration
	at             time.Time
}

func mark(p *process) cpuMark {
	s, err := cpuTime(p.pid)
	if err != nil {
		log.Fatal(err)
	}
	c, err := cpuTime(os.Getpid())
	if err != nil {
		log.Fatal(err)
	}
	return cpuMark{s, c, time.Now()}
}

func runBroadcast(ctx context.Context, rep *report, srv string, p *process) {
	var msgs atomic.Int64
	socks, err := dialMany(ctx, p.url, "websocket", *flagBcast, 64, &msgs)
	if err != nil {
		log.Fatalf("%s broadcast: %v", srv, err)
	}
	defer closeAll(socks)
	var wg sync.WaitGroup
	for _, s := range socks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.call(ctx, "join", ""); err != nil {
				log.Fatalf("%s join: %v", srv, err)
			}
		}()
	}
	wg.Wait()
	driver, err := dialSock(ctx, p.url, "websocket", nil)
	if err != nil {
		log.Fatalf("%s broadcast driver: %v", srv, err)
	}
	defer driver.c.Close()
	// Blasts of 20 emits to the room, sent without waiting for an ack,
	// with at most 4 blasts' deliveries outstanding: the server always
	// has work, and its queues stay bounded.
	const blast, window = 20, 4
	n := int64(len(socks))
	var sent int64
	pkt := []byte(fmt.Sprintf(`2["blast",%d,%s]`, blast, payload))
	begin := time.Now()
	stop := begin.Add(*flagWarm + *flagWindow)
	// The window opens when the warm-up ends, wherever the loop is then.
	var m0 cpuMark
	var d0 int64
	marked := make(chan struct{})
	time.AfterFunc(*flagWarm, func() {
		m0, d0 = mark(p), msgs.Load()
		close(marked)
	})
	for time.Now().Before(stop) {
		if err := driver.c.Send(ctx, ws.Text, pkt); err != nil {
			log.Fatalf("%s blast: %v", srv, err)
		}
		sent += blast
		deadline := time.Now().Add(10 * time.Second)
		for msgs.Load() < (sent-window*blast)*n && time.Now().Before(stop) {
			if time.Now().After(deadline) {
				log.Fatalf("%s broadcast: %d of %d deliveries after 10 s", srv, msgs.Load(), (sent-window*blast)*n)
			}
			time.Sleep(100 * time.Microsecond)
		}
	}
	m1, d1 := mark(p), msgs.Load()
	<-marked
	// Let the server drain what is outstanding before the sockets close,
	// so that the next case finds it idle.
	for drain := time.Now().Add(60 * time.Second); msgs.Load() < sent*n && time.Now().Before(drain); {
		time.Sleep(10 * time.Millisecond)
	}
	el := m1.at.Sub(m0.at)
	del := float64(d1 - d0)
	rep.add("broadcast-rate", srv, del/el.Seconds())
	rep.add("broadcast-cpu", srv, float64(m1.server-m0.server)/float64(time.Microsecond)/del)
	rep.add("broadcast-client", srv, float64(m1.client-m0.client)/float64(el)*100)
	rep.add("broadcast-server", srv, float64(m1.server-m0.server)/float64(el)*100)
	log.Printf("%s broadcast: %.0f deliveries/s, %.2f µs server CPU each", srv, del/el.Seconds(), float64(m1.server-m0.server)/float64(time.Microsecond)/del)
}

func runEcho(ctx context.Context, rep *report, srv string, p *process) {
	socks, err := dialMany(ctx, p.url, "websocket", *flagEcho, 64, nil)
	if err != nil {
		log.Fatalf("%s echo: %v", srv, err)
	}
	defer closeAll(socks)
	var measuring atomic.Bool
	var stopFlag atomic.Bool
	lat := make([][]time.Duration, len(socks))
	var wg sync.WaitGroup
	for i, s := range socks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stopFlag.Load() {
				t := time.Now()
				if _, err := s.call(ctx, "echo", payload); err != nil {
					log.Fatalf("%s echo: %v", srv, err)
				}
				if measuring.Load() {
					lat[i] = append(lat[i], time.Since(t))
				}
			}
		}()
	}
	time.Sleep(*flagWarm)
	m0 := mark(p)
	measuring.Store(true)
	time.Sleep(*flagWindow)
	measuring.Store(false)
	m1 := mark(p)
	stopFlag.Store(true)
	wg.Wait()
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	el := m1.at.Sub(m0.at)
	n := float64(len(all))
	rep.add("echo-rate", srv, n/el.Seconds())
	rep.add("echo-p50", srv, float64(all[len(all)/2])/float64(time.Microsecond))
	rep.add("echo-p99", srv, float64(all[len(all)*99/100])/float64(time.Microsecond))
	rep.add("echo-cpu", srv, float64(m1.server-m0.server)/float64(time.Microsecond)/n)
	rep.add("echo-client", srv, float64(m1.client-m0.client)/float64(el)*100)
	rep.add("echo-server", srv, float64(m1.server-m0.server)/float64(el)*100)
	log.Printf("%s echo: %.0f acks/s, p50 %v, p99 %v, %.2f µs server CPU each", srv, n/el.Seconds(), all[len(all)/2], all[len(all)*99/100], float64(m1.server-m0.server)/float64(time.Microsecond)/n)
}

func runIdle(ctx context.Context, rep *report, srv string, p *process, name, transport string, n int) {
	// Warm the server with one socket first, so that what every server
	// allocates once (pools, the first handshake's code paths) is not
	// counted per socket.
	warm, err := dialSock(ctx, p.url, transport, nil)
	if err != nil {
		log.Fatalf("%s %s: %v", srv, name, err)
	}
	time.Sleep(500 * time.Millisecond)
	before, _ := rss(p.pid)
	socks, err := dialMany(ctx, p.url, transport, n, 64, nil)
	if err != nil {
		log.Fatalf("%s %s: %v", srv, name, err)
	}
	// Idle: handshakes done, buffers drained, and each runtime's garbage
	// collector has had time to give back what the handshakes used.
	time.Sleep(*flagIdle)
	after, _ := rss(p.pid)
	per := float64(after-before) / float64(n) / 1024
	rep.add(name, srv, per)
	log.Printf("%s %s: %d sockets, %.2f KiB each (RSS %d → %d MiB)", srv, name, n, per, before>>20, after>>20)
	if d, err := time.ParseDuration(os.Getenv("SIOBENCH_HOLD")); err == nil {
		log.Printf("holding the %d sockets for %v (SIOBENCH_HOLD)", n, d)
		time.Sleep(d)
	}
	closeAll(socks)
	warm.c.Close()
}
