package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os/signal"
	"syscall"
	"time"

	"github.com/rfc6455/ws/loadgen"
)

func init() {
	commands = append(commands, &command{
		name:  "load",
		args:  "[flags] URL",
		short: "load an echo server with many connections and measure throughput and latency",
		long: `
Open -c connections to the echo server at URL, then have each do round trips
(write a -size message, read the echo, check it) for -d, or until -n round
trips in all, as fast as the server answers or at -rate round trips per second
in all. Print throughput (round trips per second, and MB/s = 10^6 payload
bytes per second in each direction), latency percentiles, and the errors by
kind. A connection that fails is dialed again while the run lasts.

A progress line is shown on stderr once per second when stderr is a terminal
(or with -progress). Ctrl-C ends the run early and prints the report so far.

It exits 0 when the run completed round trips, even with errors (they are in
the report); 1 when no connection could be opened or no round trip succeeded.
Connections are dialed 64 at a time before the clock starts; -c above the
open-file limit fails with "too many open files" dial errors.

  ws load ws://127.0.0.1:8080/
  ws load -c 1000 -size 1KiB -d 10s ws://127.0.0.1:8080/
  ws load -c 100 -rate 5000 -d 30s ws://127.0.0.1:8080/`,
		setup: setupLoad,
	})
}

func setupLoad(fs *flag.FlagSet) func(e *env, args []string) error {
	var df dialFlags
	df.define(fs)
	conns := fs.Int("c", 10, "number of connections")
	size := sizeFlag(1024)
	fs.Var(&size, "size", "payload `size` of each message, such as 512, 64KB or 1KiB")
	duration := fs.Duration("d", 10*time.Second, "how long to run, once connected")
	rate := fs.Float64("rate", 0, "round trips per second, in all connections together (0: as fast as possible)")
	total := fs.Int64("n", 0, "stop after this many round trips in all (0: no limit but -d)")
	text := fs.Bool("text", false, "send text messages instead of binary")
	timeout := fs.Duration("timeout", 10*time.Second, "a round trip taking longer is an error, and its connection is replaced")
	progress := fs.Bool("progress", false, "print progress lines on stderr even when it is not a terminal")
	return func(e *env, args []string) error {
		url, err := oneURL(args)
		if err != nil {
			return err
		}
		switch {
		case *conns < 1:
			return usageError("-c %d: want at least 1 connection", *conns)
		case size < 1:
			return usageError("-size must be at least 1 byte")
		case *duration <= 0:
			return usageError("-d must be positive")
		case *rate < 0:
			return usageError("-rate must not be negative")
		case *total < 0:
			return usageError("-n must not be negative")
		case *timeout <= 0:
			return usageError("-timeout must be positive")
		}
		opts, err := df.options()
		if err != nil {
			return err
		}
		cfg := loadgen.Config{
			URL: url, Connections: *conns, Size: int(size), Text: *text,
			Duration: *duration, Messages: *total, Rate: *rate, Timeout: *timeout,
			DialOptions: opts,
		}
		live := e.stderrTTY
		if live || *progress {
			cfg.Progress = func(p loadgen.Progress) {
				line := fmt.Sprintf("%5.0fs  %d connections  %d round trips  %.0f msg/s  %d errors",
					p.Elapsed.Seconds(), p.Connections, p.Messages, p.Rate, p.Errors)
				if live {
					fmt.Fprintf(e.stderr, "\r%s\x1b[K", line) // rewrite the line in place
				} else {
					fmt.Fprintln(e.stderr, line)
				}
			}
		}
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
		defer stop()
		context.AfterFunc(ctx, stop) // a second Ctrl-C ends the process at once

		res, err := loadgen.Run(ctx, cfg)
		if live && cfg.Progress != nil {
			fmt.Fprint(e.stderr, "\r\x1b[K")
		}
		if errors.Is(err, loadgen.ErrInvalidConfig) {
			return &exitError{code: exitUsage, err: err}
		}
		if err != nil {
			// No connection: the first dial's error says why.
			// Each dial is bounded by -timeout, the dialing as a whole by -d.
			bound := fmt.Sprintf("-timeout %s", *timeout)
			if *duration < *timeout {
				bound = fmt.Sprintf("-d %s", *duration)
			}
			return dialError(url, errors.Unwrap(err), bound)
		}
		if err := res.WriteText(e.stdout); err != nil {
			return err
		}
		if res.Messages == 0 && !res.Interrupted {
			return errors.New("no round trip succeeded (is the server an echo server?)")
		}
		return nil
	}
}
