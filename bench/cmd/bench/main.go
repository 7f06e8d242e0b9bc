// Command bench compares the echo servers of package echo (this library,
// gorilla/websocket, coder/websocket, gobwas/ws, lxzan/gws and a
// lesismal/nbio, a hand-written floor) under one load generator, and prints Markdown tables
// in which every figure is also a ratio to the other libraries from the
// same run.
//
//	cd bench && go run ./cmd/bench            # the full run, about 10 minutes
//	cd bench && go run ./cmd/bench -quick     # about 2 minutes
//	cd bench && go run ./cmd/bench -cases 'echo/64x' -libs ours,gorilla
//
// Each server runs as a process of its own (this program, re-executed),
// one at a time, on 127.0.0.1. The serve subcommand runs one by hand, for
// profiling:
//
//	go run ./cmd/bench serve -lib ours -addr 127.0.0.1:9001 -cpuprofile ours.pprof
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/rfc6455/ws/bench/internal/echo"
	"github.com/rfc6455/ws/bench/internal/harness"
)

func main() {
	if harness.IsServerProcess() {
		args := os.Args[1:]
		if len(args) > 0 && args[0] == "serve" {
			args = args[1:]
		}
		os.Exit(harness.ServerMain(args))
	}
	if len(os.Args) > 1 && os.Args[1] == "serve" {
		os.Exit(harness.ServerMain(os.Args[2:]))
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	quick := fs.Bool("quick", false, "a short run (about 2 minutes): one run per case, short windows")
	cases := fs.String("cases", "", "run only the cases whose ID matches this regular expression (IDs: echo/64x1KiB, idle/10000, handshake/16, deflate-nct/64x1KiB, deflate-ct/idle1000, ...)")
	libs := fs.String("libs", strings.Join(echo.Libs, ","), "comma-separated servers to run")
	ref := fs.String("ref", "ours", "the server the ratio columns compare with the others (ours, loop, ...)")
	runs := fs.Int("runs", 0, "runs of every case (0: 2, or 1 with -quick)")
	window := fs.Duration("window", 0, "measured window per cell (0: 2s, or 600ms with -quick)")
	warm := fs.Duration("warmup", 0, "warm-up before each window (0: 500ms, or 200ms with -quick)")
	idle := fs.Int("idle", 0, "connections for the idle-memory case (0: 10000)")
	sources := fs.Int("idle-sources", 0, "loopback source addresses (127.0.0.1 to 127.0.0.N) the idle case dials from (0: 8)")
	out := fs.String("o", "", "also write the tables to this file")
	profile := fs.String("profile", "", "directory where every server writes a CPU profile (go tool pprof -top FILE)")
	maxTime := fs.Duration("maxtime", 30*time.Minute, "stop the whole run after this long")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg := harness.Default()
	if *quick {
		cfg = harness.Quick()
	}
	cfg.Libs = strings.Split(*libs, ",")
	cfg.Ref = *ref
	if *cases != "" {
		re, err := regexp.Compile(*cases)
		if err != nil {
			fmt.Fprintln(stderr, "bench: -cases:", err)
			return 2
		}
		cfg.Cases = re
	}
	if *runs > 0 {
		cfg.Runs = *runs
	}
	if *window > 0 {
		cfg.Window = *window
	}
	if *warm > 0 {
		cfg.WarmUp = *warm
	}
	if *idle > 0 {
		cfg.IdleConns = *idle
	}
	if *sources > 0 {
		cfg.IdleSources = *sources
	}
	cfg.ProfileDir = *profile
	cfg.Progress = stderr

	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer cancel()
	ctx, cancel2 := context.WithTimeout(ctx, *maxTime)
	defer cancel2()
	res, err := harness.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		if res == nil || len(res.Samples) == 0 {
			return 1
		}
		if res.End.IsZero() {
			res.End = time.Now()
		}
	}
	command := "cd bench && go run ./cmd/bench"
	if len(args) > 0 {
		command += " " + strings.Join(args, " ")
	}
	res.WriteMarkdown(stdout, command)
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			fmt.Fprintln(stderr, "bench:", err)
			return 1
		}
		res.WriteMarkdown(f, command)
		if err := f.Close(); err != nil {
			fmt.Fprintln(stderr, "bench:", err)
			return 1
		}
	}
	if err != nil {
		return 1
	}
	return 0
}
