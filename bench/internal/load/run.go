package load

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Phases of a measurement: workers run during warm-up, but only round
// trips that complete during the window are counted.
const (
	phaseWarmUp int32 = iota
	phaseMeasure
	phaseStop
)

// Window is what one measurement found.
type Window struct {
	Ops      int64         // operations completed inside the window
	Duration time.Duration // the window's length
	Latency  Histogram     // round-trip times of those operations
	Errors   int64         // operations that failed (a failed worker stops)
	FirstErr error         // the first failure, if any
}

// Rate returns operations per second.
func (w *Window) Rate() float64 {
	if w.Duration <= 0 {
		return 0
	}
	return float64(w.Ops) / w.Duration.Seconds()
}

// Timing bounds a measurement. Mark, if set, is called right as the window
// opens and again right as it closes, so that the caller can sample the
// server (its CPU time) at the same instants.
type Timing struct {
	WarmUp time.Duration
	Window time.Duration
	Mark   func()
}

// measure runs work on n workers: warm-up, then the window. work returns
// the duration of one operation (or an error, which stops that worker).
func measure(ctx context.Context, n int, t Timing, work func(i int) (time.Duration, error)) *Window {
	var phase atomic.Int32
	type result struct {
		ops  int64
		hist Histogram
		err  error
	}
	results := make([]result, n)
	var measured atomic.Bool // an operation completed in the window
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &results[i]
			for phase.Load() != phaseStop && ctx.Err() == nil {
				d, err := work(i)
				if err != nil {
					r.err = err
					return
				}
				if phase.Load() == phaseMeasure {
					r.ops++
					r.hist.Add(d)
					if r.ops == 1 && !measured.Load() {
						measured.Store(true)
					}
				}
			}
		}()
	}
	ended := make(chan struct{}) // every worker has stopped
	go func() { wg.Wait(); close(ended) }()
	sleep(ctx, t.WarmUp)
	if t.Mark != nil {
		t.Mark()
	}
	start := time.Now()
	phase.Store(phaseMeasure)
	sleep(ctx, t.Window)
	// A window in which no operation completed measures nothing (a busy
	// machine can stall every worker for longer than a short window): it
	// goes on until one completes, every worker has failed, or ctx ends.
	// Its Duration is what it lasted, so Rate stays right.
wait:
	for !measured.Load() {
		select {
		case <-ended:
			break wait
		case <-ctx.Done():
			break wait
		case <-time.After(time.Millisecond):
		}
	}
	phase.Store(phaseStop)
	w := &Window{Duration: time.Since(start)}
	if t.Mark != nil {
		t.Mark()
	}
	<-ended
	for i := range results {
		r := &results[i]
		w.Ops += r.ops
		w.Latency.Merge(&r.hist)
		if r.err != nil {
			w.Errors++
			if w.FirstErr == nil {
				w.FirstErr = r.err
			}
		}
	}
	return w
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// Echo makes every connection send m and read its echo, one round trip
// after another, and measures the round trips. Connections whose round
// trip fails stop; the others go on.
func Echo(ctx context.Context, conns []*Conn, m *Message, t Timing) *Window {
	// A deadline well past the window turns a stuck server into errors
	// rather than a hang.
	dl := time.Now().Add(t.WarmUp + t.Window + 30*time.Second)
	for _, c := range conns {
		c.SetDeadline(dl)
	}
	return measure(ctx, len(conns), t, func(i int) (time.Duration, error) {
		t0 := time.Now()
		err := conns[i].RoundTrip(m)
		return time.Since(t0), err
	})
}

// Handshakes makes workers open connections to addr one after another,
// each closed (reset) as soon as its handshake is done, and measures the
// handshakes. A failed handshake is counted and the worker goes on.
func Handshakes(ctx context.Context, addr string, workers int, t Timing) *Window {
	var errs atomic.Int64
	var firstErr atomic.Value
	w := measure(ctx, workers, t, func(int) (time.Duration, error) {
		t0 := time.Now()
		hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		c, err := Dial(hctx, addr, "")
		cancel()
		d := time.Since(t0)
		if err != nil {
			if errs.Add(1) == 1 {
				firstErr.Store(err)
			}
			if ctx.Err() != nil {
				return 0, err
			}
			// Back off a little so that a refusing server is not
			// hammered into a busy loop.
			time.Sleep(time.Millisecond)
			return d, nil
		}
		c.Close()
		return d, nil
	})
	w.Errors += errs.Load()
	if w.FirstErr == nil {
		if e, ok := firstErr.Load().(error); ok {
			w.FirstErr = e
		}
	}
	return w
}

// DialAll opens n connections to addr, concurrency at a time, and makes
// each do one round trip of m (if m is not nil), so that the server has
// entered its read loop on every one of them. Connection i dials from
// sources[i%len(sources)] when sources is not empty (see DialFrom). On
// error the connections already open are closed.
func DialAll(ctx context.Context, addr, offer string, n, concurrency int, m *Message, sources []net.IP) ([]*Conn, error) {
	conns := make([]*Conn, n)
	errs := make([]error, n)
	sem := make(chan struct{}, concurrency)
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			var src net.IP
			if len(sources) > 0 {
				src = sources[i%len(sources)]
			}
			c, err := DialFrom(dctx, addr, offer, src)
			if err == nil && m != nil {
				c.SetDeadline(time.Now().Add(30 * time.Second))
				err = c.RoundTrip(m)
				c.SetDeadline(time.Time{})
				if err != nil {
					c.Close()
					c = nil
				}
			}
			conns[i], errs[i] = c, err
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		CloseAll(conns)
		nerr := 0
		for _, e := range errs {
			if e != nil {
				nerr++
			}
		}
		return nil, fmt.Errorf("%d of %d connections failed, the first: %w", nerr, n, firstNonNil(errs))
	}
	return conns, nil
}

func firstNonNil(errs []error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// CloseAll resets every connection in conns that is not nil.
func CloseAll(conns []*Conn) {
	for _, c := range conns {
		if c != nil {
			c.Close()
		}
	}
}

// RaiseFileLimit raises this process's limit on open files
// (RLIMIT_NOFILE) as far as it may go, and returns the new soft limit.
func RaiseFileLimit() (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, err
	}
	// A privileged process may raise the hard limit too; try, then settle
	// for the hard limit there is.
	want := syscall.Rlimit{Cur: 1 << 16, Max: 1 << 16}
	if lim.Max < want.Max && syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want) == nil {
		return want.Cur, nil
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, err
	}
	return lim.Cur, nil
}

// LoopbackSources returns k loopback source addresses, 127.0.0.1 to
// 127.0.0.k (Linux routes all of 127.0.0.0/8 to the loopback interface).
func LoopbackSources(k int) []net.IP {
	var out []net.IP
	for i := 1; i <= k && i < 255; i++ {
		out = append(out, net.IPv4(127, 0, 0, byte(i)))
	}
	return out
}
