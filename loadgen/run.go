package loadgen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/client"
)

// Defaults for Config fields left zero.
const (
	DefaultSize             = 1024
	DefaultDuration         = 10 * time.Second
	DefaultTimeout          = 10 * time.Second
	DefaultDialConcurrency  = 64
	DefaultProgressInterval = time.Second
)

// redialDelay is how long a connection that failed waits before it is
// dialed again, so that a dead server is not dialed in a tight loop.
const redialDelay = 100 * time.Millisecond

// ErrInvalidConfig is wrapped by the error Run returns for a Config it
// cannot use; nothing was dialed.
var ErrInvalidConfig = errors.New("loadgen: invalid config")

// Config describes a load run. Only URL is required.
type Config struct {
	// URL is the echo server to load: ws:// or wss://. It must send every
	// message back as it came.
	URL string

	// Connections is the number of connections, each doing round trips
	// one after the other. Zero means 1.
	Connections int

	// Size is the payload size of each message in bytes. Zero means
	// DefaultSize (1 KiB).
	Size int

	// Text sends text messages (printable ASCII) instead of binary ones
	// (random bytes).
	Text bool

	// Duration bounds the measured phase, which starts once every
	// connection has been dialed. No round trip starts after it; those in
	// flight finish. It bounds the dialing before it too: dials not done
	// within Duration are given up. Zero means DefaultDuration (10 s).
	Duration time.Duration

	// Messages, if positive, ends the run after this many round trips in
	// all connections together (or at Duration, whichever comes first).
	Messages int64

	// Rate, if positive, caps the round trips per second, in all
	// connections together; each connection then sends on a fixed
	// schedule. Latency is measured from the time a message was due, not
	// the time it could be written, so a server that stalls shows in the
	// latency of every message that waited behind the stall (no
	// coordinated omission). Zero means as fast as the server answers.
	Rate float64

	// Timeout bounds each round trip: one that takes longer counts as an
	// error and its connection is replaced. It bounds each dial as well
	// (the opening handshake included), unless DialOptions sets a
	// HandshakeTimeout. Zero means DefaultTimeout (10 s).
	Timeout time.Duration

	// DialOptions configure every connection (headers, subprotocols, TLS,
	// compression).
	// Nil means the defaults. The read limit is raised to Size if needed.
	DialOptions *client.Options

	// DialConcurrency bounds the dials in progress at once. Zero means
	// DefaultDialConcurrency (64).
	DialConcurrency int

	// Progress, if set, is called every ProgressInterval during the
	// measured phase, on a goroutine of Run's.
	Progress func(Progress)

	// ProgressInterval is the period of Progress calls. Zero means
	// DefaultProgressInterval (1 s).
	ProgressInterval time.Duration
}

// Progress is a snapshot of a run in progress, passed to Config.Progress.
type Progress struct {
	Elapsed     time.Duration // since the measured phase started
	Connections int           // connections open now
	Messages    uint64        // round trips completed so far
	Errors      uint64        // errors so far
	Rate        float64       // round trips per second over the last interval
}

// ErrorCount is one kind of error and how often it happened.
type ErrorCount struct {
	Kind  string // such as "read: connection reset by peer" or "dial: connection refused"
	Count uint64
}

// Result is the outcome of a run.
type Result struct {
	URL         string
	Connections int           // connections asked for
	Connected   int           // connections open when the measured phase started
	ConnectTime time.Duration // time taken to dial them
	Size        int           // payload bytes per message
	Text        bool          // text messages rather than binary
	Rate        float64       // the rate asked for; 0 for none
	Compressed  bool          // permessage-deflate was negotiated (on any connection)

	// Elapsed is the length of the measured phase: from its start until
	// every connection's last round trip ended.
	Elapsed time.Duration
	// Messages counts the round trips completed: a message written, and
	// the same message read back.
	Messages uint64
	// Latency holds the time of each completed round trip.
	Latency *Histogram
	// Errors lists the kinds of errors seen, most frequent first.
	Errors []ErrorCount
	// Interrupted reports that Run's context ended the run early.
	Interrupted bool
}

// ErrorTotal returns the number of errors of every kind.
func (r *Result) ErrorTotal() uint64 {
	var n uint64
	for _, e := range r.Errors {
		n += e.Count
	}
	return n
}

// MessagesPerSecond returns the round trips completed per second.
func (r *Result) MessagesPerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Messages) / r.Elapsed.Seconds()
}

// BytesPerSecond returns the payload bytes echoed per second, in each
// direction (the server received as many as it sent back).
func (r *Result) BytesPerSecond() float64 {
	return r.MessagesPerSecond() * float64(r.Size)
}

// Run dials cfg.Connections connections to cfg.URL, then has each do echo
// round trips (write a message, read it back, check it) until cfg.Duration
// has passed or cfg.Messages round trips were done, and closes them all with
// 1000 (normal closure). A connection that fails is counted in the result's
// errors and dialed again, after a short pause, while the run lasts.
//
// Run returns an error when no connection could be opened at all (a wrong
// or unreachable URL), together with the result that counts the failed
// dials, or for a Config it cannot use (wrapping ErrInvalidConfig). When
// ctx ends, round trips stop, the connections are closed, and Run returns
// the result so far, marked Interrupted, and no error.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	r := newRun(cfg)
	res := r.run(ctx)
	if res.Connected == 0 && !res.Interrupted {
		err := r.firstDialErr
		if err == nil {
			err = errors.New("every dial failed")
		}
		return res, fmt.Errorf("loadgen: no connection to %s: %w", cfg.URL, err)
	}
	return res, nil
}

func (cfg *Config) setDefaults() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidConfig, fmt.Sprintf(format, args...))
	}
	if cfg.URL == "" {
		return bad("no URL")
	}
	if cfg.Connections < 0 || cfg.Size < 0 || cfg.Duration < 0 || cfg.Messages < 0 ||
		cfg.Rate < 0 || cfg.Timeout < 0 || cfg.DialConcurrency < 0 || cfg.ProgressInterval < 0 {
		return bad("negative count, size, duration or rate")
	}
	if cfg.Connections == 0 {
		cfg.Connections = 1
	}
	if cfg.Size == 0 {
		cfg.Size = DefaultSize
	}
	if cfg.Duration == 0 {
		cfg.Duration = DefaultDuration
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.DialConcurrency == 0 {
		cfg.DialConcurrency = DefaultDialConcurrency
	}
	if cfg.ProgressInterval == 0 {
		cfg.ProgressInterval = DefaultProgressInterval
	}
	var opts client.Options
	if cfg.DialOptions != nil {
		opts = *cfg.DialOptions
	}
	if opts.HandshakeTimeout == 0 {
		opts.HandshakeTimeout = cfg.Timeout
	}
	limit := opts.Conn.ReadLimit
	if limit == 0 {
		limit = ws.DefaultReadLimit
	}
	if limit > 0 && limit < int64(cfg.Size) {
		opts.Conn.ReadLimit = int64(cfg.Size)
	}
	cfg.DialOptions = &opts
	return nil
}

// run is the state of one Run.
type run struct {
	cfg     Config
	typ     ws.MessageType
	payload []byte

	// Counters read by the progress reporter.
	messages atomic.Uint64
	errCount atomic.Uint64
	open     atomic.Int64
	deflate  atomic.Bool  // a connection negotiated permessage-deflate
	claimed  atomic.Int64 // round trips started, against cfg.Messages

	// Latency histograms, sharded to keep lock contention low.
	shards []latencyShard

	errMu        sync.Mutex
	errs         map[string]uint64
	firstDialErr error
}

type latencyShard struct {
	mu sync.Mutex
	h  Histogram
	_  [64]byte // keeps neighbouring shards' locks off one cache line
}

// maxErrorKinds bounds the distinct error kinds kept; the rest are "other".
const maxErrorKinds = 32

func newRun(cfg Config) *run {
	r := &run{cfg: cfg, typ: ws.Binary, errs: map[string]uint64{}}
	r.payload = make([]byte, cfg.Size)
	if cfg.Text {
		r.typ = ws.Text
		const chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
		for i := range r.payload {
			r.payload[i] = chars[i%len(chars)]
		}
	} else {
		rng := rand.NewChaCha8([32]byte{'w', 's'})
		rng.Read(r.payload)
	}
	r.shards = make([]latencyShard, min(cfg.Connections, 4*runtime.GOMAXPROCS(0)))
	return r
}

func (r *run) run(ctx context.Context) *Result {
	cfg := r.cfg
	res := &Result{
		URL: cfg.URL, Connections: cfg.Connections, Size: cfg.Size, Text: cfg.Text, Rate: cfg.Rate,
		Latency: new(Histogram),
	}

	// Connect phase: dial every connection, at most DialConcurrency at once,
	// for Duration at most.
	dialStart := time.Now()
	dialCtx, stopDialing := context.WithTimeout(ctx, cfg.Duration)
	defer stopDialing()
	conns := make([]*ws.Conn, cfg.Connections)
	sem := make(chan struct{}, cfg.DialConcurrency)
	var wg sync.WaitGroup
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-dialCtx.Done():
				if ctx.Err() == nil {
					r.countError("dial", dialCtx.Err()) // not even started within Duration
				}
				return
			}
			conns[i] = r.dial(ctx, dialCtx)
			<-sem
		}()
	}
	wg.Wait()
	res.ConnectTime = time.Since(dialStart)
	for _, c := range conns {
		if c != nil {
			res.Connected++
		}
	}

	// Measured phase.
	start := time.Now()
	deadline := start.Add(cfg.Duration)
	if res.Connected > 0 && ctx.Err() == nil {
		var measuring sync.WaitGroup
		stopProgress := r.startProgress(start)
		for i, c := range conns {
			measuring.Add(1)
			wg.Add(1)
			go func() {
				defer wg.Done()
				w := &worker{r: r, id: i, c: c, shard: &r.shards[i%len(r.shards)]}
				w.loop(ctx, start, deadline, &measuring)
			}()
		}
		measuring.Wait()
		res.Elapsed = time.Since(start)
		stopProgress()
	} else {
		// Nothing to measure; close whatever was opened.
		for _, c := range conns {
			if c != nil {
				wg.Add(1)
				go func() { defer wg.Done(); r.close(c) }()
			}
		}
	}
	wg.Wait() // the closes

	res.Messages = r.messages.Load()
	for i := range r.shards {
		res.Latency.Merge(&r.shards[i].h)
	}
	res.Errors = r.errorCounts()
	res.Interrupted = ctx.Err() != nil
	res.Compressed = r.deflate.Load()
	return res
}

// startProgress calls cfg.Progress every interval until the returned
// function is called.
func (r *run) startProgress(start time.Time) (stop func()) {
	if r.cfg.Progress == nil {
		return func() {}
	}
	done := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		t := time.NewTicker(r.cfg.ProgressInterval)
		defer t.Stop()
		prev, prevAt := uint64(0), start
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				n := r.messages.Load()
				r.cfg.Progress(Progress{
					Elapsed:     now.Sub(start),
					Connections: int(r.open.Load()),
					Messages:    n,
					Errors:      r.errCount.Load(),
					Rate:        float64(n-prev) / now.Sub(prevAt).Seconds(),
				})
				prev, prevAt = n, now
			}
		}
	}()
	return func() { close(done); <-exited }
}

// dial opens one connection within dctx (ctx, or a shorter bound), or
// counts the error, unless ctx has ended, and returns nil.
func (r *run) dial(ctx, dctx context.Context) *ws.Conn {
	c, _, err := client.Dial(dctx, r.cfg.URL, r.cfg.DialOptions)
	if err != nil {
		if ctx.Err() == nil {
			r.errMu.Lock()
			if r.firstDialErr == nil {
				r.firstDialErr = err
			}
			r.errMu.Unlock()
			r.countError("dial", err)
		}
		return nil
	}
	r.open.Add(1)
	if _, ok := c.Compression(); ok {
		r.deflate.Store(true)
	}
	return c
}

// close closes c with 1000, counting a close handshake that fails.
func (r *run) close(c *ws.Conn) {
	c.SetDeadline(time.Time{})
	if err := c.Close(ws.CloseNormal, ""); err != nil {
		var ce *ws.CloseError
		if !errors.As(err, &ce) || (ce.Code != ws.CloseNormal && ce.Code != ws.CloseGoingAway) {
			r.countError("close", err)
		}
	}
	r.open.Add(-1)
}

// abandon closes a failed connection at once.
func (r *run) abandon(c *ws.Conn) {
	c.CloseNow()
	r.open.Add(-1)
}

func (r *run) countError(op string, err error) {
	r.errCount.Add(1)
	kind := errorKind(op, err)
	r.errMu.Lock()
	defer r.errMu.Unlock()
	if _, ok := r.errs[kind]; !ok && len(r.errs) >= maxErrorKinds {
		kind = op + ": other"
	}
	r.errs[kind]++
}

func (r *run) errorCounts() []ErrorCount {
	r.errMu.Lock()
	defer r.errMu.Unlock()
	out := make([]ErrorCount, 0, len(r.errs))
	for k, n := range r.errs {
		out = append(out, ErrorCount{Kind: k, Count: n})
	}
	sortErrors(out)
	return out
}

// worker runs one connection's round trips.
type worker struct {
	r     *run
	id    int
	c     *ws.Conn // nil while disconnected
	shard *latencyShard
	buf   []byte
}

// loop does round trips until the deadline, the message budget or ctx ends
// them, then closes the connection.
func (w *worker) loop(ctx context.Context, start, deadline time.Time, measuring *sync.WaitGroup) {
	r := w.r
	cfg := r.cfg
	var interval time.Duration
	var due time.Time
	var timer *time.Timer
	if cfg.Rate > 0 {
		interval = time.Duration(float64(cfg.Connections) / cfg.Rate * float64(time.Second))
		// Spread the connections' schedules over one interval.
		due = start.Add(interval * time.Duration(w.id) / time.Duration(cfg.Connections))
		timer = time.NewTimer(time.Hour)
		defer timer.Stop()
	}
	defer func() {
		measuring.Done()
		if w.c != nil {
			r.close(w.c)
		}
	}()
	w.buf = make([]byte, 0, cfg.Size)
	for ctx.Err() == nil {
		if w.c == nil {
			// Dial again after a pause, if the run lasts that long.
			if time.Until(deadline) < redialDelay || !sleep(ctx, redialDelay) {
				return
			}
			dctx, cancel := context.WithDeadline(ctx, deadline)
			w.c = r.dial(ctx, dctx)
			cancel()
			if w.c == nil {
				continue
			}
		}
		if cfg.Messages > 0 && r.claimed.Add(1) > cfg.Messages {
			return
		}
		t0 := time.Now()
		if interval > 0 {
			if !due.Before(deadline) {
				r.unclaim()
				return
			}
			if wait := due.Sub(t0); wait > 0 {
				timer.Reset(wait)
				select {
				case <-timer.C:
				case <-ctx.Done():
					r.unclaim()
					return
				}
			}
			t0 = due // latency counts from when the message was due
			due = due.Add(interval)
		} else if !t0.Before(deadline) {
			r.unclaim()
			return
		}
		if err := w.roundTrip(t0); err != nil {
			r.unclaim()
			continue
		}
		lat := time.Since(t0)
		w.shard.mu.Lock()
		w.shard.h.Record(lat)
		w.shard.mu.Unlock()
		r.messages.Add(1)
	}
}

func (r *run) unclaim() {
	if r.cfg.Messages > 0 {
		r.claimed.Add(-1)
	}
}

// roundTrip writes the payload and reads it back. On failure the error is
// counted and the connection abandoned.
func (w *worker) roundTrip(t0 time.Time) error {
	r, c := w.r, w.c
	ctx := context.Background() // deadlines, not contexts: they cost nothing per call
	c.SetDeadline(time.Now().Add(r.cfg.Timeout))
	op := "write"
	err := c.WriteMessage(ctx, r.typ, r.payload)
	if err == nil {
		op = "read"
		var typ ws.MessageType
		typ, w.buf, err = c.ReadMessage(ctx, w.buf[:0])
		if err == nil && (typ != r.typ || !bytes.Equal(w.buf, r.payload)) {
			op, err = "echo", errMismatch
		}
	}
	if err != nil {
		r.countError(op, err)
		r.abandon(c)
		w.c = nil
	}
	return err
}

var errMismatch = errors.New("reply differs from the message sent")

// sleep waits for d or ctx, and reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
