package harness

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/rfc6455/ws/bench/internal/echo"
	"github.com/rfc6455/ws/bench/internal/load"
)

// ServerEnv marks a process started by the harness to run an echo server:
// a program (the bench command, a test binary) that finds it set calls
// ServerMain instead of doing its usual work.
const ServerEnv = "RFC6455_BENCH_SERVER"

// IsServerProcess reports whether this process was started as a server by
// the harness.
func IsServerProcess() bool { return os.Getenv(ServerEnv) == "1" }

// ServerMain runs an echo server as a process of its own, with the
// command-line flags in args, and returns the exit status. It listens,
// prints "listening ADDR" on stdout, and serves until its standard input
// ends (the harness closes it, or dies), a SIGINT or SIGTERM arrives, or
// -maxlife passes: it always stops by itself.
func ServerMain(args []string) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	lib := fs.String("lib", "ours", "server: "+strings.Join(append(echo.Libs, echo.Extra...), ", "))
	mode := fs.String("deflate", echo.DeflateOff, "permessage-deflate: off, nct (no context takeover) or ct (context takeover)")
	addr := fs.String("addr", "127.0.0.1:0", "address to listen on (loopback only)")
	maxLife := fs.Duration("maxlife", 30*time.Minute, "stop after this long whatever happens")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	stdinStop := fs.Bool("stdin", true, "stop when standard input ends")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := serverMain(*lib, *mode, *addr, *maxLife, *cpuProfile, *stdinStop); err != nil {
		fmt.Fprintln(os.Stderr, "serve:", err)
		return 1
	}
	return 0
}

func serverMain(lib, mode, addr string, maxLife time.Duration, cpuProfile string, stdinStop bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("address %s is not a loopback address", addr)
	}
	if !echo.SupportsDeflate(lib, mode) {
		return fmt.Errorf("no server %q with deflate mode %q", lib, mode)
	}
	if _, err := load.RaiseFileLimit(); err != nil {
		return err
	}
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer cancel()
	ctx, cancel2 := context.WithTimeout(ctx, maxLife)
	defer cancel2()
	if stdinStop {
		// Standard input carries commands, one a line: "gc" runs two
		// GC cycles, the second giving freed memory back to the OS
		// (debug.FreeOSMemory), and answers "gc"
		// on standard output. Its end stops the server.
		go func() {
			sc := bufio.NewScanner(os.Stdin)
			for sc.Scan() {
				if sc.Text() == "gc" {
					// Two cycles: the second also empties what
					// sync.Pools kept through the first (their
					// victim caches), as any server's steady GC
					// cycles do.
					runtime.GC()
					debug.FreeOSMemory()
					fmt.Println("gc")
				}
			}
			cancel()
		}()
	}
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	// SIGUSR1 prints where the memory is, for looking into the idle
	// memory figures by hand: kill -USR1 PID.
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	defer signal.Stop(usr1)
	go func() {
		for range usr1 {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			fmt.Fprintf(os.Stderr, "serve: %d goroutines; heap in use %d KiB, stacks %d KiB, other runtime %d KiB, GC cycles %d\n",
				runtime.NumGoroutine(), ms.HeapInuse>>10, ms.StackInuse>>10,
				(ms.MSpanInuse+ms.MCacheInuse+ms.BuckHashSys+ms.GCSys+ms.OtherSys)>>10, ms.NumGC)
		}
	}()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Printf("listening %s\n", ln.Addr())
	return echo.Serve(ctx, ln, echo.Config{Lib: lib, Deflate: mode})
}

// process is an echo server running as a child process.
type process struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	addr  string
	pid   int
	done  chan error
	// replies carries the server's answers to commands on its standard
	// input.
	replies chan string
}

// gc makes the server run a GC that returns freed memory to the OS, and
// waits until it has.
func (p *process) gc() error {
	if _, err := io.WriteString(p.stdin, "gc\n"); err != nil {
		return err
	}
	select {
	case r := <-p.replies:
		if r != "gc" {
			return fmt.Errorf("server answered %q to gc", r)
		}
		return nil
	case <-time.After(30 * time.Second):
		return errors.New("server did not answer gc within 30s")
	}
}

// startServer starts exe as an echo server for lib in deflate mode, and
// waits until it listens. With profileDir set, the server writes a CPU
// profile there.
func startServer(exe, lib, mode, profileDir, tag string) (*process, error) {
	args := []string{"serve", "-lib", lib, "-deflate", mode, "-maxlife", "30m"}
	if profileDir != "" {
		args = append(args, "-cpuprofile", filepath.Join(profileDir, fmt.Sprintf("%s-%s.pprof", lib, tag)))
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), ServerEnv+"=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &process{cmd: cmd, stdin: stdin, pid: cmd.Process.Pid, done: make(chan error, 1), replies: make(chan string, 4)}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		for sc.Scan() {
			// Only answers to commands; a library's own logging
			// (nbio logs to standard output) is dropped.
			if sc.Text() != "gc" {
				continue
			}
			select {
			case p.replies <- sc.Text():
			default:
			}
		}
		io.Copy(io.Discard, stdout)
		p.done <- cmd.Wait()
	}()
	select {
	case line, ok := <-lines:
		addr, found := strings.CutPrefix(line, "listening ")
		if !ok || !found {
			p.stop()
			return nil, fmt.Errorf("server %s did not start (said %q)", lib, line)
		}
		p.addr = addr
	case <-time.After(30 * time.Second):
		p.stop()
		return nil, fmt.Errorf("server %s did not start within 30s", lib)
	}
	return p, nil
}

// stop ends the server: it closes its standard input, and kills it if it
// has not exited within five seconds.
func (p *process) stop() error {
	p.stdin.Close()
	select {
	case err := <-p.done:
		return err
	case <-time.After(5 * time.Second):
	}
	p.cmd.Process.Kill()
	err := <-p.done
	if err == nil {
		err = errors.New("killed")
	}
	return err
}
