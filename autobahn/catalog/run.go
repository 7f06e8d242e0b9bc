package catalog

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options configure a run. The zero value gives the suite's defaults.
type Options struct {
	// CaseTimeout bounds one case: a case still running after it has its
	// connection dropped by the fuzzer. Zero means 60 seconds.
	CaseTimeout time.Duration
	// CloseHandshakeTimeout is how long the fuzzer waits for the peer's
	// close after sending its own (autobahn's closeHandshakeTimeout).
	// Zero means 1 second.
	CloseHandshakeTimeout time.Duration
	// ServerConnectionDropTimeout is how long the fuzzer, as a client,
	// waits for the server to close TCP after the close handshake. Zero
	// means 1 second.
	ServerConnectionDropTimeout time.Duration
	// OpenHandshakeTimeout bounds the opening handshake. Zero means 5
	// seconds.
	OpenHandshakeTimeout time.Duration
	// OutDir, if set, is where reports are written: index.json and one
	// JSON file per case, in the original suite's shape.
	OutDir string
	// Progress, if set, receives one line per case run.
	Progress io.Writer
	// CompressionBytesPerCase, if > 0, caps what each case of sections
	// 12 and 13 sends: it sends min(its count, ⌈cap/size⌉) messages
	// instead of the suite's 1000 (up to 128 MiB a case), and its result
	// says so. For quick runs; zero runs the suite's counts.
	CompressionBytesPerCase int64
	// OnUpdateReports, if set, is called when a client asks for
	// /updateReports, with every result so far for its agent.
	OnUpdateReports func(agent string, reports []Report)
	// StopOnFailedHandshake makes RunServerTests stop at the first case
	// whose opening handshake fails (refused, not answered in time,
	// invalid), with a *HandshakeError, instead of reporting that case
	// as the original suite does and going on: a server that is not a
	// WebSocket endpoint then fails every case the same way.
	StopOnFailedHandshake bool
}

// HandshakeError is RunServerTests' error, with
// Options.StopOnFailedHandshake, for a case whose opening handshake failed.
type HandshakeError struct {
	Case   string // the case's ID
	Status string // the response's status line; "" if none came
	Body   string // with a refusal, the start of the response's body
	Err    error  // what failed
}

func (e *HandshakeError) Error() string {
	return fmt.Sprintf("catalog: case %s: opening handshake failed: %v", e.Case, e.Err)
}

func (e *HandshakeError) Unwrap() error { return e.Err }

func (o *Options) caseTimeout() time.Duration {
	if o.CaseTimeout > 0 {
		return o.CaseTimeout
	}
	return 60 * time.Second
}

func (o *Options) closeHandshakeTimeout() time.Duration {
	if o.CloseHandshakeTimeout > 0 {
		return o.CloseHandshakeTimeout
	}
	return time.Second
}

func (o *Options) serverConnectionDropTimeout() time.Duration {
	if o.ServerConnectionDropTimeout > 0 {
		return o.ServerConnectionDropTimeout
	}
	return time.Second
}

func (o *Options) openHandshakeTimeout() time.Duration {
	if o.OpenHandshakeTimeout > 0 {
		return o.OpenHandshakeTimeout
	}
	return 5 * time.Second
}

func (o *Options) progress(format string, args ...any) {
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, format+"\n", args...)
	}
}

// Report is everything recorded about one case run, as the original suite's
// per-case report holds it.
type Report struct {
	Result
	ID          string
	Description string
	Expectation string
	Agent       string
	Started     time.Time
	// Index is the case's 1-based number in the run.
	Index int
	// IsServer: the fuzzer was the server (a client was tested).
	IsServer      bool
	ReportTime    bool
	Expected      []Expectation
	ExpectedClose ExpectedClose

	LocalCloseCode                 *int
	LocalCloseReason               *string
	WasServerConnectionDropTimeout bool
	WasOpenHandshakeTimeout        bool
	WasCloseHandshakeTimeout       bool
	TxFrameStats                   map[byte]int
	RxFrameStats                   map[byte]int
	HTTPRequest                    string
	HTTPResponse                   string
}

// Expectation is one acceptable outcome of a case.
type Expectation struct {
	Verdict Verdict
	Events  []Event
}

// Failed reports whether the case failed: behaviour FAILED, or the close
// FAILED or UNCLEAN (the verdicts the original's report shows in red).
func (r *Report) Failed() bool {
	return r.Behavior == Failed || r.BehaviorClose == Failed || r.BehaviorClose == Unclean
}

// Strict reports whether both verdicts are OK or INFORMATIONAL.
func (r *Report) Strict() bool {
	good := func(v Verdict) bool { return v == OK || v == Informational }
	return good(r.Behavior) && good(r.BehaviorClose)
}

// runCase plays one case on an open connection.
func runCase(ctx context.Context, c net.Conn, br *bufio.Reader, isServer bool, cs Case, agent string, index int, opts *Options, pmd *DeflateParams) Report {
	started := time.Now()
	s := newSession(c, br, isServer, cs, opts)
	if pmd != nil {
		s.pmd = newPMD(*pmd, isServer)
	}
	res := s.run(ctx)
	rep := Report{
		Result:                         res,
		ID:                             cs.ID,
		Description:                    cs.Description,
		Expectation:                    cs.Expectation,
		Agent:                          agent,
		Started:                        started,
		Index:                          index,
		IsServer:                       isServer,
		ReportTime:                     s.reportTime,
		ExpectedClose:                  s.expectedClose,
		LocalCloseCode:                 s.localCloseCode,
		LocalCloseReason:               s.localCloseReason,
		WasServerConnectionDropTimeout: s.wasServerDropTO,
		WasCloseHandshakeTimeout:       s.wasCloseTO,
		TxFrameStats:                   s.txFrames,
		RxFrameStats:                   s.rxFrames,
	}
	for _, e := range s.expected {
		rep.Expected = append(rep.Expected, Expectation{e.verdict, e.events})
	}
	return rep
}

// unopened is the report of a case whose opening handshake failed.
func unopened(cs Case, agent string, index int, isServer bool, why string) Report {
	return Report{
		Result: Result{
			Behavior:          Failed,
			BehaviorClose:     Failed,
			Result:            "Actual events differ from any expected.",
			ResultClose:       "The WebSocket opening handshake was never completed!",
			WasNotCleanReason: why,
		},
		ID: cs.ID, Description: cs.Description, Expectation: cs.Expectation,
		Agent: agent, Started: time.Now(), Index: index, IsServer: isServer,
	}
}

// RunServerTests tests the WebSocket server at url (ws://host:port/path,
// an echo endpoint) with cases, one connection per case, one case after
// another, as the suite's fuzzingclient does. agent names the server in
// the reports; empty means its Server header. Reports are written to
// opts.OutDir when set. It stops early, with an error, when the server
// cannot be reached or ctx is done.
func RunServerTests(ctx context.Context, url, agent string, cases []Case, opts *Options) ([]Report, error) {
	if opts == nil {
		opts = &Options{}
	}
	var out []Report
	for i, cs := range cases {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		cc, err := dialWSWith(ctx, url, opts.openHandshakeTimeout(), cs.Compression)
		var de *dialError
		if errors.As(err, &de) {
			return out, err
		}
		name := agent
		if name == "" {
			name = cc.server
			if name == "" {
				name = "UnknownServer"
			}
		}
		var rep Report
		if err != nil && opts.StopOnFailedHandshake {
			return out, &HandshakeError{Case: cs.ID, Status: cc.status, Body: cc.body, Err: err}
		}
		if err != nil {
			rep = unopened(cs, name, i+1, false, err.Error())
		} else {
			rep = runCase(ctx, cc.c, cc.br, false, cs, name, i+1, opts, cc.pmd)
		}
		rep.HTTPRequest, rep.HTTPResponse = cc.request, cc.response
		opts.progress("case %s: %s / %s (%d ms)", cs.ID, rep.Behavior, rep.BehaviorClose, rep.Duration.Milliseconds())
		out = append(out, rep)
	}
	if opts.OutDir != "" && len(out) > 0 {
		if err := WriteReports(opts.OutDir, map[string][]Report{out[0].Agent: out}); err != nil {
			return out, err
		}
	}
	return out, nil
}

// ServeClientTests plays the suite's fuzzingserver on ln until ctx is done:
// a client under test connects to /getCaseCount (answered with the number
// of cases as a text message), to /runCase?case=N&agent=A once per case (N
// from 1, in the order of cases) and to /updateReports?agent=A (reports are
// written to opts.OutDir and passed to opts.OnUpdateReports). It closes ln
// and returns every result by agent once ctx is done and the connections
// have ended.
func ServeClientTests(ctx context.Context, ln net.Listener, cases []Case, opts *Options) (map[string][]Report, error) {
	if opts == nil {
		opts = &Options{}
	}
	fs := &fuzzServer{cases: cases, opts: opts, results: map[string]map[int]Report{}}
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	var wg sync.WaitGroup
	var err error
	for {
		c, aerr := ln.Accept()
		if aerr != nil {
			if ctx.Err() == nil {
				err = aerr
			}
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			fs.serve(ctx, c)
		}()
	}
	wg.Wait()
	return fs.all(), err
}

type fuzzServer struct {
	cases   []Case
	opts    *Options
	mu      sync.Mutex
	results map[string]map[int]Report
	running int // /runCase sessions not yet recorded
}

// settle waits, up to a bound, until no case is running, so that a client
// asking for /updateReports right after its last case sees that case: the
// client may see the connection end before the fuzzer recorded it.
func (fs *fuzzServer) settle(ctx context.Context) {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		fs.mu.Lock()
		n := fs.running
		fs.mu.Unlock()
		if n == 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (fs *fuzzServer) all() map[string][]Report {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	out := map[string][]Report{}
	for agent := range fs.results {
		out[agent] = fs.agentLocked(agent)
	}
	return out
}

func (fs *fuzzServer) agentLocked(agent string) []Report {
	var list []Report
	for _, r := range fs.results[agent] {
		list = append(list, r)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Index < list[j].Index })
	return list
}

// control is a pseudo-case for the suite's service paths: send what it
// has to say, then close.
func control(msg string) Case {
	return Case{ID: "control", Run: func(s Session) {
		if msg != "" {
			s.SendMessage([]byte(msg), false)
		}
		s.SendClose(0, "")
	}}
}

// compression returns the permessage-deflate setup of the case a
// /runCase request asks for, if any.
func (fs *fuzzServer) compression(req *serverRequest) *Compression {
	if req.path != "/runCase" {
		return nil
	}
	n, err := strconv.Atoi(req.query.Get("case"))
	if err != nil || n < 1 || n > len(fs.cases) {
		return nil
	}
	return fs.cases[n-1].Compression
}

func (fs *fuzzServer) serve(ctx context.Context, c net.Conn) {
	defer c.Close()
	br := bufio.NewReaderSize(c, 64<<10)
	// A cancelled run ends a handshake in progress; once a session runs,
	// it watches ctx itself.
	unwatch := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Now()) })
	req, err := acceptWSWith(c, br, fs.opts.openHandshakeTimeout(), fs.compression)
	if !unwatch() || err != nil {
		return
	}
	agent := req.query.Get("agent")
	switch req.path {
	case "/getCaseCount":
		runCase(ctx, c, br, true, control(strconv.Itoa(len(fs.cases))), "", 0, fs.opts, nil)
	case "/runCase":
		n, err := strconv.Atoi(req.query.Get("case"))
		if err != nil || n < 1 || n > len(fs.cases) {
			runCase(ctx, c, br, true, control(""), "", 0, fs.opts, nil)
			return
		}
		cs := fs.cases[n-1]
		fs.mu.Lock()
		fs.running++
		fs.mu.Unlock()
		rep := runCase(ctx, c, br, true, cs, agent, n, fs.opts, req.pmd)
		rep.HTTPRequest, rep.HTTPResponse = req.request, req.response
		fs.opts.progress("case %s (%d) for %s: %s / %s (%d ms)", cs.ID, n, agent, rep.Behavior, rep.BehaviorClose, rep.Duration.Milliseconds())
		fs.mu.Lock()
		if fs.results[agent] == nil {
			fs.results[agent] = map[int]Report{}
		}
		fs.results[agent][n] = rep
		fs.running--
		fs.mu.Unlock()
	case "/updateReports":
		fs.settle(ctx)
		all := fs.all()
		if fs.opts.OutDir != "" {
			if err := WriteReports(fs.opts.OutDir, all); err != nil {
				fs.opts.progress("writing reports: %v", err)
			}
		}
		if fs.opts.OnUpdateReports != nil {
			fs.opts.OnUpdateReports(agent, all[agent])
		}
		runCase(ctx, c, br, true, control(""), "", 0, fs.opts, nil)
	default:
		runCase(ctx, c, br, true, control(""), "", 0, fs.opts, nil)
	}
}

// caseKey turns "9.1.10" into [9 1 10] for ordering.
func caseKey(id string) []int {
	var k []int
	for _, p := range strings.Split(id, ".") {
		n, _ := strconv.Atoi(p)
		k = append(k, n)
	}
	return k
}

func lessID(a, b string) bool {
	ka, kb := caseKey(a), caseKey(b)
	for i := 0; i < len(ka) && i < len(kb); i++ {
		if ka[i] != kb[i] {
			return ka[i] < kb[i]
		}
	}
	return len(ka) < len(kb)
}

// resolve returns the IDs matching the suite's patterns: with '*', a
// pattern is a prefix match where '*' matches anything ("1.*", "9.1.*");
// without, an exact case ID.
func resolve(all []Case, patterns []string) (map[string]bool, error) {
	set := map[string]bool{}
	for _, p := range patterns {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if !strings.Contains(p, "*") {
			set[p] = true
			continue
		}
		re, err := regexp.Compile("^" + strings.ReplaceAll(regexp.QuoteMeta(p), `\*`, ".*"))
		if err != nil {
			return nil, err
		}
		for _, c := range all {
			if re.MatchString(c.ID) {
				set[c.ID] = true
			}
		}
	}
	return set, nil
}

// Select returns the cases matching any include pattern and no exclude
// pattern, in case number order. Patterns are the suite's: "*", "1.*",
// "9.1.*", or exact IDs such as "2.10". An exact ID not in cases is an
// error.
func Select(cases []Case, include, exclude []string) ([]Case, error) {
	inc, err := resolve(cases, include)
	if err != nil {
		return nil, err
	}
	exc, err := resolve(cases, exclude)
	if err != nil {
		return nil, err
	}
	byID := map[string]Case{}
	for _, c := range cases {
		byID[c.ID] = c
	}
	var out []Case
	for id := range inc {
		if exc[id] {
			continue
		}
		c, ok := byID[id]
		if !ok {
			return nil, fmt.Errorf("catalog: no case %q", id)
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return lessID(out[i].ID, out[j].ID) })
	return out, nil
}
