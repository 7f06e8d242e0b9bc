package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rfc6455/ws/autobahn/catalog"
)

func init() {
	commands = append(commands, &command{
		name:  "conformance",
		args:  "-server URL | -client-listen ADDR [flags]",
		short: "run the conformance suite (Autobahn's cases, in Go) against a server or a client",
		long: `
Run the Autobahn TestSuite's case catalog, rewritten in Go, and print the
summary per section, then every case that is not OK.

With -server, test the WebSocket server at URL, which must echo every text and
binary message as it came (ws serve does).

With -client-listen, listen on ADDR and test the clients that connect, as the
original suite's fuzzingserver does: a client asks /getCaseCount, runs each
case at /runCase?case=N&agent=NAME (echoing every message), then asks
/updateReports?agent=NAME, which prints the summary so far. The command runs
until interrupted (Ctrl-C) and then prints the summary per agent.

Cases are chosen by comma-separated patterns, * matching anything: 1.*,2.*
or 9.1.*; -exclude leaves some out.

It exits 0 when no case failed, 1 when a case failed (behaviour FAILED, or
close FAILED or UNCLEAN) or the server could not be reached. With -server, a
failed opening handshake (a plain HTTP server's 404, no answer) ends the run
with one line saying why.

  ws conformance -server ws://127.0.0.1:8080/ -cases '1.*,2.*'
  ws conformance -server ws://127.0.0.1:8080/ -exclude '9.*' -out reports
  ws conformance -client-listen 127.0.0.1:9001`,
		setup: setupConformance,
	})
}

func setupConformance(fs *flag.FlagSet) func(e *env, args []string) error {
	serverURL := fs.String("server", "", "test the echo server at this `URL`")
	listen := fs.String("client-listen", "", "listen on this `address` and test the clients that connect")
	var cases, exclude commaFlag
	fs.Var(&cases, "cases", "run the cases matching these `patterns` (comma-separated; default all)")
	fs.Var(&exclude, "exclude", "leave out the cases matching these `patterns`")
	agent := fs.String("agent", "", "`name` of the server under test in reports (default: its Server header)")
	out := fs.String("out", "", "write JSON reports, in the original suite's shape, to this `directory`")
	caseTimeout := fs.Duration("case-timeout", 60*time.Second, "hard limit for one case")
	verbose := fs.Bool("v", false, "print a line per case as it runs")
	return func(e *env, args []string) error {
		if len(args) > 0 {
			return usageError("unexpected arguments: %s", strings.Join(args, " "))
		}
		if (*serverURL == "") == (*listen == "") {
			return usageError("give exactly one of -server URL and -client-listen ADDR")
		}
		if len(cases) == 0 {
			cases = commaFlag{"*"}
		}
		selected, err := catalog.Select(catalog.All(), cases, exclude)
		if err != nil {
			return usageError("%v", err)
		}
		if len(selected) == 0 {
			return usageError("no case matches -cases %s", cases.String())
		}
		opts := &catalog.Options{OutDir: *out, CaseTimeout: *caseTimeout, StopOnFailedHandshake: true}
		if *verbose {
			opts.Progress = e.stdout
		}
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
		defer stop()

		if *serverURL != "" {
			reports, err := catalog.RunServerTests(ctx, *serverURL, *agent, selected, opts)
			if len(reports) > 0 {
				catalog.WriteSummary(e.stdout, reports)
			}
			var he *catalog.HandshakeError
			switch {
			case errors.As(err, &he) && he.Status != "":
				// Not a WebSocket endpoint, most likely: one line, not a
				// failed case each.
				status := he.Status
				if _, rest, ok := strings.Cut(status, " "); ok {
					status = rest
				}
				return fmt.Errorf("%s: handshake refused (case %s): %s%s", *serverURL, he.Case, status, reasonText(he.Body))
			case errors.As(err, &he):
				return fmt.Errorf("%s: opening handshake of case %s failed: %v", *serverURL, he.Case, he.Err)
			case err != nil:
				return err
			}
			return failed(reports)
		}

		ln, err := net.Listen("tcp", *listen)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "fuzzing server on ws://%s/: %d cases for every client that connects; Ctrl-C stops it\n", ln.Addr(), len(selected))
		var mu sync.Mutex
		opts.OnUpdateReports = func(agent string, reports []catalog.Report) {
			mu.Lock()
			defer mu.Unlock()
			fmt.Fprintf(e.stdout, "reports for %s:\n", agent)
			catalog.WriteSummary(e.stdout, reports)
		}
		byAgent, err := catalog.ServeClientTests(ctx, ln, selected, opts)
		if err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
		agents := make([]string, 0, len(byAgent))
		for a := range byAgent {
			agents = append(agents, a)
		}
		sort.Strings(agents)
		var failure error
		for _, a := range agents {
			fmt.Fprintf(e.stdout, "agent %s:\n", a)
			catalog.WriteSummary(e.stdout, byAgent[a])
			if err := failed(byAgent[a]); err != nil {
				failure = err
			}
		}
		return failure
	}
}

// failed returns an error counting the cases that failed, if any did.
func failed(reports []catalog.Report) error {
	n := 0
	for i := range reports {
		if reports[i].Failed() {
			n++
		}
	}
	if n > 0 {
		return fmt.Errorf("%d of %d cases failed", n, len(reports))
	}
	return nil
}
