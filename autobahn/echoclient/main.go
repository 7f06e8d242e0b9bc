// Command echoclient is the client agent for the Autobahn TestSuite's
// fuzzingserver mode (and for this project's Go catalog in its
// -client-listen mode): a WebSocket client built on this library that runs
// every case the fuzzing server offers by echoing what it sends.
//
//	go run ./autobahn/echoclient -url ws://127.0.0.1:9001 -agent ws
//
// It follows the suite's protocol: it connects to /getCaseCount and reads
// the number of cases from the one text message the server sends, then
// connects to /runCase?case=N&agent=AGENT for N from 1 to that number,
// sending every text and binary message back as it was received, with the
// same type, until the connection ends, and finally connects to
// /updateReports?agent=AGENT, which makes the server write its reports.
//
// Every case is bounded by -case-timeout: a case still running then is cut
// off (the fuzzing server records what happened) and the next one starts.
// The client offers permessage-deflate (RFC 7692) and accepts any answer the
// offer allows, so the compression cases (sections 12 and 13) run.
// SIGINT or SIGTERM closes the case in progress with 1001 (going away) at
// once and exits.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/client"
	"github.com/rfc6455/ws/deflate"
)

// readLimit is the largest message accepted: twice the suite's largest.
const readLimit = 32 << 20

func main() {
	log.SetFlags(0)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		log.Fatal("echoclient: ", err)
	}
}

// config is what the flags set.
type config struct {
	base        *url.URL
	agent       string
	caseTimeout time.Duration
}

// run is main without the process.
func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("echoclient", flag.ContinueOnError)
	rawURL := fs.String("url", "ws://127.0.0.1:9001", "the fuzzing server's URL")
	agent := fs.String("agent", "ws", "the agent name the reports show")
	caseTimeout := fs.Duration("case-timeout", 2*time.Minute, "the longest one case may run")
	if err := fs.Parse(args); err != nil {
		return err
	}
	base, err := url.Parse(*rawURL)
	if err != nil {
		return err
	}
	if base.Scheme != "ws" && base.Scheme != "wss" {
		return fmt.Errorf("-url %q: the scheme must be ws or wss", *rawURL)
	}
	if *agent == "" || *caseTimeout <= 0 {
		return errors.New("-agent must not be empty and -case-timeout must be positive")
	}
	return runAll(ctx, config{base: base, agent: *agent, caseTimeout: *caseTimeout}, out)
}

// runAll runs every case the server offers, then asks for the reports.
func runAll(ctx context.Context, cfg config, out io.Writer) error {
	n, err := caseCount(ctx, cfg)
	if err != nil {
		return fmt.Errorf("getting the case count: %w", err)
	}
	fmt.Fprintf(out, "%d cases to run as agent %q\n", n, cfg.agent)
	failed := 0
	for i := 1; i <= n; i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		end, err := runCase(ctx, cfg, i)
		if err != nil {
			failed++
			fmt.Fprintf(out, "case %d/%d: %v\n", i, n, err)
			continue
		}
		fmt.Fprintf(out, "case %d/%d: %s\n", i, n, end)
	}
	if err := updateReports(ctx, cfg); err != nil {
		return fmt.Errorf("updating the reports: %w", err)
	}
	fmt.Fprintf(out, "reports updated; %d of %d cases could not be run\n", failed, n)
	return nil
}

// endpoint returns the server's URL for path with the query.
func (cfg config) endpoint(path string, query string) string {
	u := *cfg.base
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	u.RawQuery = query
	return u.String()
}

// dialOptions are the options of every connection: the default Conn but
// for the read limit, which the 16 MiB cases of section 9 need.
func dialOptions() *client.Options {
	return &client.Options{Conn: ws.Options{ReadLimit: readLimit}, Compression: &deflate.ClientConfig{Threshold: -1}}
}

// caseCount asks /getCaseCount how many cases there are.
func caseCount(ctx context.Context, cfg config) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.caseTimeout)
	defer cancel()
	c, _, err := client.Dial(ctx, cfg.endpoint("/getCaseCount", ""), dialOptions())
	if err != nil {
		return 0, err
	}
	defer c.CloseNow()
	typ, msg, err := c.ReadMessage(ctx, nil)
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(msg)))
	if typ != ws.Text || err != nil || n < 0 {
		return 0, fmt.Errorf("the server sent %q, not a case count", msg)
	}
	drain(ctx, c)
	return n, nil
}

// runCase runs case i by echoing until the connection ends, and says how it
// ended. If parent ends (SIGINT, SIGTERM), the case's connection is closed
// with 1001, going away (RFC 6455 §7.4.1), and parent's error returned.
func runCase(parent context.Context, cfg config, i int) (string, error) {
	ctx, cancel := context.WithTimeout(parent, cfg.caseTimeout)
	defer cancel()
	query := "case=" + strconv.Itoa(i) + "&agent=" + url.QueryEscape(cfg.agent)
	c, _, err := client.Dial(ctx, cfg.endpoint("/runCase", query), dialOptions())
	if err != nil {
		return "", err
	}
	defer c.CloseNow()
	// A read whose context ends drops the connection, so the reads are
	// bounded by the case's timeout alone, and an interrupt closes the
	// connection with 1001 instead; the read then ends with the server's
	// answer.
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(parent), cfg.caseTimeout)
	defer rcancel()
	goneAway := make(chan struct{})
	stop := context.AfterFunc(parent, func() {
		defer close(goneAway)
		c.Close(ws.CloseGoingAway, "client interrupted")
	})
	err = echo(rctx, c)
	if !stop() {
		<-goneAway
		return "", parent.Err()
	}
	var ce *ws.CloseError
	switch {
	case errors.As(err, &ce):
		return fmt.Sprintf("closed by the server with %d", uint16(ce.Code)), nil
	case errors.Is(err, context.DeadlineExceeded) || rctx.Err() != nil:
		// The read deadline may fire a moment before ctx itself does.
		return "", fmt.Errorf("cut off after %v", cfg.caseTimeout)
	default:
		return fmt.Sprintf("ended: %v", err), nil
	}
}

// echo sends every message back as received until reading fails, and
// returns the error that ended it.
func echo(ctx context.Context, c *ws.Conn) error {
	var buf []byte
	for {
		typ, msg, err := c.ReadMessage(ctx, buf[:0])
		if err != nil {
			return err
		}
		if err := c.WriteMessage(ctx, typ, msg); err != nil {
			// The read that follows reports why (the peer's close or
			// the protocol error), or fails on the closed connection.
			_, _, err = c.ReadMessage(ctx, nil)
			return err
		}
		buf = msg
	}
}

// updateReports asks the server to write its reports for the agent.
func updateReports(ctx context.Context, cfg config) error {
	ctx, cancel := context.WithTimeout(ctx, cfg.caseTimeout)
	defer cancel()
	c, _, err := client.Dial(ctx, cfg.endpoint("/updateReports", "agent="+url.QueryEscape(cfg.agent)), dialOptions())
	if err != nil {
		return err
	}
	defer c.CloseNow()
	drain(ctx, c)
	return nil
}

// drain reads until the connection ends (the server closes it once it is
// done), bounded by ctx.
func drain(ctx context.Context, c *ws.Conn) {
	for {
		if _, _, err := c.ReadMessage(ctx, nil); err != nil {
			return
		}
	}
}
