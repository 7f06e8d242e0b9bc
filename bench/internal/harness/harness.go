// Package harness runs the comparison: it starts each library's echo
// server as a process of its own, one at a time, drives it with the load
// generator of package load, samples the server's CPU time and memory from
// /proc, and prints tables in which every figure is also a ratio to the
// other libraries from the same run.
package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"time"

	"github.com/rfc6455/ws/bench/internal/echo"
	"github.com/rfc6455/ws/bench/internal/load"
)

// Sections of the results, in the order they are printed.
const (
	SecEcho      = "echo"
	SecIdle      = "idle"
	SecHandshake = "handshake"
	SecDeflateNC = "deflate-nct"
	SecDeflateCT = "deflate-ct"
)

// Config says what to run and for how long.
type Config struct {
	Libs  []string       // servers, in echo.Libs' names
	Ref   string         // the server the ratio columns compare with the others; "" means ours (or the first of Libs)
	Cases *regexp.Regexp // run only the cases whose ID (section/name) it matches; nil runs all
	Runs  int            // each case runs this many times

	WarmUp time.Duration // before each measured window, not counted
	Window time.Duration // each measured window

	EchoConns []int // connections for the echo cells
	EchoSizes []int // message sizes for the echo cells

	IdleConns        int // connections held open for the idle-memory case
	IdleSources      int // loopback source addresses the idle case's dials are spread over
	HandshakeWorkers int // concurrent clients for the handshake case

	DeflateConns     int   // connections for the permessage-deflate echo cells
	DeflateSizes     []int // message sizes for them
	DeflateIdleConns int   // connections for the memory-per-connection case with deflate

	DialConcurrency int           // connections dialed at once
	Settle          time.Duration // wait before reading a server's memory

	Exe        string    // the program to run servers with (ServerMain); "" means this one
	ProfileDir string    // if set, every server writes a CPU profile there
	Progress   io.Writer // a line per case; nil means none
}

// Default is the full run: about ten minutes on two cores.
func Default() Config {
	return Config{
		Libs:             slices.Clone(echo.Libs),
		Runs:             2,
		WarmUp:           500 * time.Millisecond,
		Window:           2 * time.Second,
		EchoConns:        []int{1, 64, 1000},
		EchoSizes:        []int{16, 1 << 10, 4 << 10, 64 << 10},
		IdleConns:        10000,
		IdleSources:      8,
		HandshakeWorkers: 16,
		DeflateConns:     64,
		DeflateSizes:     []int{1 << 10, 16 << 10},
		DeflateIdleConns: 1000,
		DialConcurrency:  64,
		Settle:           time.Second,
	}
}

// Quick is a short run, about two minutes: every case once, in short
// windows.
func Quick() Config {
	c := Default()
	c.Runs = 1
	c.WarmUp = 200 * time.Millisecond
	c.Window = 600 * time.Millisecond
	return c
}

// Sample is one measurement of one case on one library.
type Sample struct {
	Section, Case string
	Lib           string
	Run           int // 1-based

	Size int     // message size in bytes (echo cases)
	Ops  int64   // messages echoed or handshakes done in the window
	Rate float64 // Ops per second
	MBps float64 // payload megabytes per second, each way (echo cases)
	P50  time.Duration
	P99  time.Duration
	CPU  time.Duration // server CPU time per operation
	// Syscalls is the server's read and write system calls per operation
	// (syscr+syscw of /proc/PID/io).
	Syscalls float64
	Mem      float64 // server memory per connection, bytes (idle cases)
	MemGC    float64 // the same after the server ran a GC and gave memory back (debug.FreeOSMemory)
	Conns    int

	Errors int64
	Err    string // the first error, if any
}

// Results are the samples of a run with what is needed to read them.
type Results struct {
	Config     Config
	Samples    []Sample
	Start, End time.Time
	LoadStart  string // /proc/loadavg when the run started
	LoadEnd    string // and when it ended
	NumCPU     int
	CPUModel   string
}

// caseSpec is one case of the plan.
type caseSpec struct {
	section, name string
	conns, size   int
}

func (c caseSpec) id() string { return c.section + "/" + c.name }

// session is one server process and the cases run against it.
type session struct {
	run       int
	lib, mode string
	idle      *caseSpec // a memory case, run alone on a fresh server
	cases     []caseSpec
}

func sizeName(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}

func (cfg *Config) selected(c caseSpec) bool {
	return cfg.Cases == nil || cfg.Cases.MatchString(c.id())
}

// plan lists the server sessions to run, in order: each run goes through
// every library, so that a drift in the machine's load touches all, and
// every second run goes through them in the reverse order, so that no
// library is always the first measured (a cold machine, a load that
// drifts across a run) or always the last.
func (cfg *Config) plan() []session {
	var out []session
	for run := 1; run <= cfg.Runs; run++ {
		libs := cfg.Libs
		if run%2 == 0 {
			libs = slices.Clone(libs)
			slices.Reverse(libs)
		}
		for _, lib := range libs {
			idle := caseSpec{section: SecIdle, name: fmt.Sprint(cfg.IdleConns), conns: cfg.IdleConns, size: 16}
			if cfg.IdleConns > 0 && cfg.selected(idle) {
				out = append(out, session{run: run, lib: lib, mode: echo.DeflateOff, idle: &idle})
			}
			s := session{run: run, lib: lib, mode: echo.DeflateOff}
			for _, n := range cfg.EchoConns {
				for _, size := range cfg.EchoSizes {
					c := caseSpec{section: SecEcho, name: fmt.Sprintf("%dx%s", n, sizeName(size)), conns: n, size: size}
					if cfg.selected(c) {
						s.cases = append(s.cases, c)
					}
				}
			}
			hs := caseSpec{section: SecHandshake, name: fmt.Sprint(cfg.HandshakeWorkers), conns: cfg.HandshakeWorkers}
			if cfg.HandshakeWorkers > 0 && cfg.selected(hs) {
				s.cases = append(s.cases, hs)
			}
			if len(s.cases) > 0 {
				out = append(out, s)
			}
			for _, m := range []struct{ mode, section string }{
				{echo.DeflateNoTakeover, SecDeflateNC},
				{echo.DeflateTakeover, SecDeflateCT},
			} {
				if !echo.SupportsDeflate(lib, m.mode) {
					continue
				}
				idle := caseSpec{section: m.section, name: fmt.Sprintf("idle%d", cfg.DeflateIdleConns), conns: cfg.DeflateIdleConns, size: 1 << 10}
				if cfg.DeflateIdleConns > 0 && cfg.selected(idle) {
					out = append(out, session{run: run, lib: lib, mode: m.mode, idle: &idle})
				}
				s := session{run: run, lib: lib, mode: m.mode}
				for _, size := range cfg.DeflateSizes {
					c := caseSpec{section: m.section, name: fmt.Sprintf("%dx%s", cfg.DeflateConns, sizeName(size)), conns: cfg.DeflateConns, size: size}
					if cfg.DeflateConns > 0 && cfg.selected(c) {
						s.cases = append(s.cases, c)
					}
				}
				if len(s.cases) > 0 {
					out = append(out, s)
				}
			}
		}
	}
	return out
}

// runner carries the state of a run.
type runner struct {
	cfg     *Config
	res     *Results
	done    int
	total   int
	started time.Time
}

// Run runs the plan cfg describes and returns the samples. A case that
// fails is recorded with its error and the run goes on; Run fails only
// when a server cannot be started or ctx ends.
func Run(ctx context.Context, cfg Config) (*Results, error) {
	if cfg.Runs < 1 {
		cfg.Runs = 1
	}
	if cfg.DialConcurrency < 1 {
		cfg.DialConcurrency = 64
	}
	for _, lib := range cfg.Libs {
		if !echo.Known(lib) {
			return nil, fmt.Errorf("harness: unknown library %q (have %v)", lib, echo.Libs)
		}
	}
	if cfg.Exe == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, err
		}
		cfg.Exe = exe
	}
	if cfg.ProfileDir != "" {
		if err := os.MkdirAll(cfg.ProfileDir, 0o755); err != nil {
			return nil, err
		}
	}
	if _, err := load.RaiseFileLimit(); err != nil {
		return nil, err
	}
	plan := cfg.plan()
	if len(plan) == 0 {
		return nil, errors.New("harness: no case selected")
	}
	r := &runner{cfg: &cfg, started: time.Now()}
	for _, s := range plan {
		if s.idle != nil {
			r.total++
		}
		r.total += len(s.cases)
	}
	r.res = &Results{
		Config:    cfg,
		Start:     r.started,
		LoadStart: loadAvg(),
		NumCPU:    numCPU(),
		CPUModel:  cpuModel(),
	}
	for i, s := range plan {
		if err := r.session(ctx, i, s); err != nil {
			return r.res, err
		}
	}
	r.res.End = time.Now()
	r.res.LoadEnd = loadAvg()
	return r.res, nil
}

func (r *runner) progress(s session, c caseSpec, sm *Sample) {
	r.done++
	if r.cfg.Progress == nil {
		return
	}
	var what string
	switch {
	case sm.Err != "" && sm.Ops == 0 && sm.Mem == 0:
		what = "FAILED: " + sm.Err
	case c.section == SecIdle || sm.Mem != 0:
		what = fmt.Sprintf("%.1f KiB/conn, %.1f after a GC", sm.Mem/1024, sm.MemGC/1024)
	case c.section == SecHandshake:
		what = fmt.Sprintf("%.0f handshakes/s, %s CPU each", sm.Rate, fmtDur(sm.CPU))
	default:
		what = fmt.Sprintf("%.0f msg/s, %s CPU/msg, %.2f syscalls/msg, p50 %s p99 %s", sm.Rate, fmtDur(sm.CPU), sm.Syscalls, fmtDur(sm.P50), fmtDur(sm.P99))
	}
	if sm.Err != "" && what[0] != 'F' {
		what += fmt.Sprintf(" (%d errors, first: %s)", sm.Errors, sm.Err)
	}
	fmt.Fprintf(r.cfg.Progress, "[%d/%d %s] run %d %-7s %-22s %s\n",
		r.done, r.total, time.Since(r.started).Round(time.Second), s.run, s.lib, c.id(), what)
}

// session starts the server, runs its cases and stops it.
func (r *runner) session(ctx context.Context, i int, s session) error {
	p, err := startServer(r.cfg.Exe, s.lib, s.mode, r.cfg.ProfileDir, fmt.Sprintf("%s-%d-%d", s.mode, s.run, i))
	if err != nil {
		return err
	}
	defer p.stop()
	offer := ""
	switch s.mode {
	case echo.DeflateNoTakeover:
		offer = load.OfferNoTakeover
	case echo.DeflateTakeover:
		offer = load.OfferTakeover
	}
	if s.idle != nil {
		sm := r.idle(ctx, p, s, *s.idle, offer)
		r.res.Samples = append(r.res.Samples, sm)
		r.progress(s, *s.idle, &sm)
		return ctx.Err()
	}
	// Cases with the same connection count share the connections.
	var conns []*load.Conn
	connsFor := -1
	defer func() { load.CloseAll(conns) }()
	for _, c := range s.cases {
		if err := ctx.Err(); err != nil {
			return err
		}
		var sm Sample
		if c.section == SecHandshake {
			load.CloseAll(conns)
			conns, connsFor = nil, -1
			sm = r.handshakes(ctx, p, s, c)
		} else {
			if connsFor != c.conns {
				load.CloseAll(conns)
				conns, connsFor = nil, -1
				conns, err = load.DialAll(ctx, p.addr, offer, c.conns, r.cfg.DialConcurrency, nil, nil)
				if err == nil {
					connsFor = c.conns
				}
			}
			if err != nil {
				sm = r.sample(s, c)
				sm.Err = err.Error()
			} else {
				sm = r.echo(ctx, p, s, c, conns)
			}
		}
		r.res.Samples = append(r.res.Samples, sm)
		r.progress(s, c, &sm)
	}
	return nil
}

func (r *runner) sample(s session, c caseSpec) Sample {
	return Sample{Section: c.section, Case: c.name, Lib: s.lib, Run: s.run, Size: c.size, Conns: c.conns}
}

// message builds the message of case c: binary for the echo cases, JSON
// text for the compressed ones.
func message(c caseSpec, deflate bool) *load.Message {
	if c.section == SecDeflateNC || c.section == SecDeflateCT {
		return load.NewMessage(0x1, jsonText(c.size), deflate)
	}
	return load.NewMessage(0x2, binaryPayload(c.size), false)
}

// cpuMarks samples the server's CPU time and system calls at both ends of
// a window.
type cpuMarks struct {
	pid   int
	t     [2]time.Duration
	calls [2]int64 // read and write system calls
	n     int
	err   error
}

func (m *cpuMarks) mark() {
	t, err := cpuTime(m.pid)
	r, w, err2 := ioCalls(m.pid)
	if err == nil {
		err = err2
	}
	if err != nil && m.err == nil {
		m.err = err
	}
	if m.n < 2 {
		m.t[m.n] = t
		m.calls[m.n] = r + w
	}
	m.n++
}

func (m *cpuMarks) used() time.Duration { return m.t[1] - m.t[0] }

func (r *runner) echo(ctx context.Context, p *process, s session, c caseSpec, conns []*load.Conn) Sample {
	sm := r.sample(s, c)
	compressed := c.section == SecDeflateNC || c.section == SecDeflateCT
	if compressed && !conns[0].Deflate() {
		sm.Err = "server declined permessage-deflate"
		return sm
	}
	m := message(c, compressed)
	marks := &cpuMarks{pid: p.pid}
	w := load.Echo(ctx, conns, m, load.Timing{WarmUp: r.cfg.WarmUp, Window: r.cfg.Window, Mark: marks.mark})
	r.fill(&sm, w, marks)
	sm.MBps = sm.Rate * float64(c.size) / 1e6
	if w.Errors > 0 {
		// Workers that failed are gone: the connections are of no more
		// use to the next case.
		sm.Err = w.FirstErr.Error()
	}
	return sm
}

func (r *runner) fill(sm *Sample, w *load.Window, marks *cpuMarks) {
	sm.Ops = w.Ops
	sm.Rate = w.Rate()
	sm.P50 = w.Latency.Percentile(50)
	sm.P99 = w.Latency.Percentile(99)
	sm.Errors = w.Errors
	if w.FirstErr != nil {
		sm.Err = w.FirstErr.Error()
	}
	if marks.err != nil && sm.Err == "" {
		sm.Err = marks.err.Error()
	}
	if w.Ops > 0 {
		sm.CPU = marks.used() / time.Duration(w.Ops)
		sm.Syscalls = float64(marks.calls[1]-marks.calls[0]) / float64(w.Ops)
	}
}

func (r *runner) handshakes(ctx context.Context, p *process, s session, c caseSpec) Sample {
	sm := r.sample(s, c)
	marks := &cpuMarks{pid: p.pid}
	w := load.Handshakes(ctx, p.addr, c.conns, load.Timing{WarmUp: r.cfg.WarmUp, Window: r.cfg.Window, Mark: marks.mark})
	r.fill(&sm, w, marks)
	return sm
}

// idle measures the server's memory per connection: its RSS on a fresh
// start, then with c.conns connections open that have each echoed one
// message and are now idle.
func (r *runner) idle(ctx context.Context, p *process, s session, c caseSpec, offer string) Sample {
	sm := r.sample(s, c)
	sleep(ctx, r.cfg.Settle/3)
	before, err := rss(p.pid)
	if err != nil {
		sm.Err = err.Error()
		return sm
	}
	m := message(c, offer != "")
	conns, err := load.DialAll(ctx, p.addr, offer, c.conns, r.cfg.DialConcurrency, m, load.LoopbackSources(r.cfg.IdleSources))
	if err != nil {
		sm.Err = err.Error()
		return sm
	}
	defer load.CloseAll(conns)
	if offer != "" && !conns[0].Deflate() {
		sm.Err = "server declined permessage-deflate"
		return sm
	}
	// Let the server settle: goroutines parked, buffers returned.
	sleep(ctx, r.cfg.Settle)
	after, err := rss(p.pid)
	if err != nil {
		sm.Err = err.Error()
		return sm
	}
	sm.Mem = float64(after-before) / float64(c.conns)
	// Then the same after a GC that gives freed memory back to the OS:
	// what the connections themselves hold, without the garbage of their
	// handshakes.
	if err := p.gc(); err != nil {
		sm.Err = err.Error()
		return sm
	}
	if after, err = rss(p.pid); err != nil {
		sm.Err = err.Error()
		return sm
	}
	sm.MemGC = float64(after-before) / float64(c.conns)
	return sm
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
