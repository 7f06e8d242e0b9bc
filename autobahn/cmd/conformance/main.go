// Command conformance runs the Autobahn TestSuite's case catalog, rewritten
// in Go (package catalog), against any WebSocket server or client.
//
// Testing a server (the suite's fuzzingclient): the server must echo every
// text and binary message as received.
//
//	go run ./autobahn/cmd/conformance -server ws://127.0.0.1:9001 [-cases '1.*,2.*'] [-exclude '9.*'] [-agent name] [-out dir]
//
// Testing a client (the suite's fuzzingserver): the command listens, and
// the client under test connects to /getCaseCount, then to
// /runCase?case=N&agent=A for N = 1…count (echoing every message), then to
// /updateReports?agent=A, exactly as with the original suite. The command
// prints the summary at each /updateReports and runs until interrupted.
//
//	go run ./autobahn/cmd/conformance -client-listen 127.0.0.1:9001 [-cases …] [-out dir]
//
// Reports (index.json and one JSON file per case, in the original's shape)
// go to -out. The command prints a summary table per section and exits
// with status 1 when any case FAILED (behaviour FAILED, or close FAILED or
// UNCLEAN), 2 on usage or connection errors.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/rfc6455/ws/autobahn/catalog"
)

func main() {
	os.Exit(run())
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func run() int {
	serverURL := flag.String("server", "", "test the echo server at this ws:// URL")
	listen := flag.String("client-listen", "", "listen on this address and test the clients that connect")
	cases := flag.String("cases", "*", "comma-separated case patterns to run, e.g. '1.*,2.*,9.1.*'")
	exclude := flag.String("exclude", "", "comma-separated case patterns to leave out")
	agent := flag.String("agent", "", "name of the server under test in reports (default: its Server header)")
	out := flag.String("out", "", "directory for the JSON reports (default: none)")
	caseTimeout := flag.Duration("case-timeout", 60*time.Second, "hard limit for one case")
	quiet := flag.Bool("q", false, "do not print a line per case")
	flag.Parse()

	if (*serverURL == "") == (*listen == "") {
		fmt.Fprintln(os.Stderr, "conformance: give exactly one of -server and -client-listen")
		flag.Usage()
		return 2
	}
	selected, err := catalog.Select(catalog.All(), splitList(*cases), splitList(*exclude))
	if err != nil {
		fmt.Fprintln(os.Stderr, "conformance:", err)
		return 2
	}
	if len(selected) == 0 {
		fmt.Fprintln(os.Stderr, "conformance: no case selected")
		return 2
	}
	opts := &catalog.Options{OutDir: *out, CaseTimeout: *caseTimeout}
	if !*quiet {
		opts.Progress = os.Stdout
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	if *serverURL != "" {
		reports, err := catalog.RunServerTests(ctx, *serverURL, *agent, selected, opts)
		catalog.WriteSummary(os.Stdout, reports)
		if err != nil {
			fmt.Fprintln(os.Stderr, "conformance:", err)
			return 2
		}
		return status(reports)
	}

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "conformance:", err)
		return 2
	}
	fmt.Printf("fuzzing server on ws://%s: %d cases for any client that connects; interrupt to stop\n", ln.Addr(), len(selected))
	var mu sync.Mutex
	opts.OnUpdateReports = func(agent string, reports []catalog.Report) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Printf("reports for %s:\n", agent)
		catalog.WriteSummary(os.Stdout, reports)
	}
	byAgent, err := catalog.ServeClientTests(ctx, ln, selected, opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "conformance:", err)
		return 2
	}
	agents := make([]string, 0, len(byAgent))
	for a := range byAgent {
		agents = append(agents, a)
	}
	sort.Strings(agents)
	code := 0
	for _, a := range agents {
		fmt.Printf("agent %s:\n", a)
		catalog.WriteSummary(os.Stdout, byAgent[a])
		code = max(code, status(byAgent[a]))
	}
	return code
}

func status(reports []catalog.Report) int {
	for i := range reports {
		if reports[i].Failed() {
			return 1
		}
	}
	return 0
}
