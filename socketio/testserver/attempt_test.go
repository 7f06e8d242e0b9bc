package main

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rfc6455/ws/engineio"
	"github.com/rfc6455/ws/socketio"
)

// The official suites' cases rely on the clock: the agent pings every
// 300 ms (pingInterval) and ends a session whose pong has not come 200 ms
// (pingTimeout) after its ping. A case that does not answer pings must be
// over before the first one is due, and one that answers them must answer
// each in time. A busy machine can stretch a case past that; the
// heartbeat may then change what the agent answers (a ping where the case
// expects another packet, a session ended for a late pong), and the run
// says nothing about the agent. So each case runs as attempts, and each
// attempt knows until when the heartbeat cannot have changed anything (its
// premise): a failure seen before that fails the test; a failure seen
// after it is inconclusive, and the case runs again on a new agent. When
// every one of maxAttempts attempts was inconclusive, the last one's
// failures fail the test: a fault that shows in slow runs only is missed
// no more than maxAttempts slow runs in a row allow.
//
// The premise starts when the case opens its first session (nothing the
// heartbeat does can come before pingInterval after the handshake request
// was sent), and a case that proves it answered a ping in time extends it
// (see premise).
const maxAttempts = 8

// attempt is one run of a case: it records failures as testing.T does and
// tells whether they are conclusive. Fatalf and Fatal end the attempt's
// goroutine, so they must be called from it, as testing.T's must.
type attempt struct {
	t    *testing.T
	n    int
	loop bool // the agent runs on the event-loop driver

	mu       sync.Mutex
	until    time.Time // failures before it are conclusive; zero: all are
	failures []failure
	cleanups []func()
}

// failure is one recorded failure: its message, where, and whether it
// came within the premise.
type failure struct {
	msg, where string
	conclusive bool
}

// drivers are the agent's two ways of serving (see newServer): every
// case runs against each.
var drivers = []struct {
	name string
	loop bool
}{{"goroutines", false}, {"loop", true}}

// runCase runs body against each driver, as attempts until one passes or
// fails conclusively, or maxAttempts have failed inconclusively.
func runCase(t *testing.T, body func(t *attempt)) {
	t.Helper()
	for _, d := range drivers {
		t.Run(d.name, func(t *testing.T) { runAttempts(t, d.loop, body) })
	}
}

func runAttempts(t *testing.T, useLoop bool, body func(t *attempt)) {
	t.Helper()
	for n := 1; ; n++ {
		at := &attempt{t: t, n: n, loop: useLoop}
		done := make(chan struct{})
		go func() {
			defer close(done)
			defer at.cleanup()
			body(at)
		}()
		<-done
		if len(at.failures) == 0 {
			return
		}
		first := at.failures[0]
		if first.conclusive || n == maxAttempts {
			if !first.conclusive {
				t.Errorf("all %d attempts failed after their premise; the last one:", n)
			}
			for _, f := range at.failures {
				t.Errorf("%s: %s", f.where, f.msg)
			}
			return
		}
		t.Logf("attempt %d failed past its premise (the heartbeat may have caused it), running again: %s: %s", n, first.where, first.msg)
	}
}

// premise sets the time until which the heartbeat cannot change what the
// agent answers: d after from. A failure seen before it fails the test.
func (at *attempt) premise(from time.Time, d time.Duration) {
	at.mu.Lock()
	at.until = from.Add(d)
	at.mu.Unlock()
}

// sessionStarts is called just before a request that may open a session:
// the first one starts the premise, which lasts pingInterval (no ping is
// due before).
func (at *attempt) sessionStarts() {
	at.mu.Lock()
	if at.until.IsZero() {
		at.until = time.Now().Add(suitePingInterval)
	}
	at.mu.Unlock()
}

// always makes every failure of the attempt conclusive: for cases whose
// result the agent's heartbeat decides on its own, whatever the pace of
// the test.
func (at *attempt) always() { at.premise(time.Now(), 1000*time.Hour) }

func (at *attempt) Helper() {}

// serve starts the agent of eng and io on a loopback port with the
// attempt's driver and returns its URL (http://127.0.0.1:port); it is shut
// down when the attempt ends.
func (at *attempt) serve(eng *engineio.Server, io *socketio.Server) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		at.Fatal(err)
	}
	serve, shutdown := newServer(eng, io, at.loop)
	done := make(chan struct{})
	go func() {
		defer close(done)
		serve(ln)
	}()
	at.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		shutdown(ctx)
		ln.Close()
		<-done
	})
	return "http://" + ln.Addr().String()
}

func (at *attempt) Cleanup(f func()) {
	at.mu.Lock()
	at.cleanups = append(at.cleanups, f)
	at.mu.Unlock()
}

func (at *attempt) cleanup() {
	for {
		at.mu.Lock()
		if len(at.cleanups) == 0 {
			at.mu.Unlock()
			return
		}
		f := at.cleanups[len(at.cleanups)-1]
		at.cleanups = at.cleanups[:len(at.cleanups)-1]
		at.mu.Unlock()
		f()
	}
}

func (at *attempt) Logf(format string, args ...any) {
	at.t.Logf("attempt %d: %s", at.n, fmt.Sprintf(format, args...))
}

func (at *attempt) Errorf(format string, args ...any) {
	at.fail(fmt.Sprintf(format, args...))
}

func (at *attempt) Fatalf(format string, args ...any) {
	at.fail(fmt.Sprintf(format, args...))
	runtime.Goexit()
}

func (at *attempt) Fatal(args ...any) {
	at.fail(fmt.Sprint(args...))
	runtime.Goexit()
}

func (at *attempt) fail(msg string) {
	now := time.Now()
	at.mu.Lock()
	defer at.mu.Unlock()
	at.failures = append(at.failures, failure{
		msg:        msg,
		where:      caller(),
		conclusive: at.until.IsZero() || now.Before(at.until),
	})
}

// caller returns where a failure was reported: the line of the case (the
// Test function) and, if it was in a helper, the helper's line.
func caller() string {
	pcs := make([]uintptr, 32)
	n := runtime.Callers(4, pcs)
	frames := runtime.CallersFrames(pcs[:n])
	var where []string
	for {
		f, more := frames.Next()
		if !strings.HasSuffix(f.File, "_test.go") || strings.HasSuffix(f.File, "attempt_test.go") {
			if !more {
				break
			}
			continue
		}
		loc := fmt.Sprintf("%s:%d", filepath.Base(f.File), f.Line)
		if len(where) == 0 || strings.Contains(f.Function, ".Test") {
			where = append(where, loc)
		}
		if strings.Contains(f.Function, ".Test") || !more {
			break
		}
	}
	if len(where) == 2 {
		return where[1] + " (" + where[0] + ")"
	}
	return strings.Join(where, "")
}
