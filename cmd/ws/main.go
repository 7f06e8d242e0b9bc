// Command ws is a WebSocket tool for the terminal, built on
// github.com/rfc6455/ws: an echo or broadcast server with a test page, an
// interactive and scriptable client, the conformance suite, and a load
// generator.
//
//	ws serve                                   # echo server on 127.0.0.1:8080, test page at /
//	ws dial ws://127.0.0.1:8080/               # type lines, see the echoes; Ctrl-D closes
//	ws dial -send hello ws://127.0.0.1:8080/   # one-shot: prints "hello"
//	ws conformance -server ws://127.0.0.1:8080/ -cases '1.*,2.*'
//	ws load -c 1000 -size 1KiB -d 10s ws://127.0.0.1:8080/
//
// Run "ws help" for the commands and "ws CMD -h" for each one's flags.
//
// Exit status: 0 on success; 1 when the work itself failed (a server that
// cannot be reached or refuses the handshake, a connection that ends without
// a clean close, conformance cases that failed, a load run in which no round
// trip succeeded); 2 for a usage error (unknown command or flag, bad flag
// value, missing or extra arguments). Every error is one line on stderr,
// starting with "ws CMD:".
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// Exit statuses.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// env is the process's environment as the commands see it, so that tests
// can run them in-process as well as through the binary.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	stderrTTY      bool // stderr is a terminal: live progress lines are wanted
	stdinTTY       bool // stdin is a terminal: what is typed shows there
	stdoutTTY      bool // stdout is a terminal
}

// command is one subcommand of ws.
type command struct {
	name  string
	args  string // synopsis of the arguments, after the name
	short string // one line for "ws help"
	long  string // paragraphs for "ws CMD -h"
	// setup defines the command's flags on fs and returns the function
	// that runs it with the positional arguments, once fs is parsed.
	setup func(fs *flag.FlagSet) func(e *env, args []string) error
}

var commands []*command // filled by init functions, in help order

// order of the commands in help.
var order = []string{"serve", "dial", "conformance", "load"}

func lookup(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

func main() {
	e := &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr,
		stderrTTY: isTerminal(os.Stderr), stdinTTY: isTerminal(os.Stdin), stdoutTTY: isTerminal(os.Stdout)}
	os.Exit(run(e, os.Args[1:]))
}

// isTerminal reports whether f is a character device, as terminals are.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// run runs the command line args and returns the exit status.
func run(e *env, args []string) int {
	if len(args) == 0 {
		writeHelp(e.stderr)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 && name == "help" {
			c := lookup(args[1])
			if c == nil {
				fmt.Fprintf(e.stderr, "ws help: unknown command %q (commands: %s)\n", args[1], strings.Join(order, ", "))
				return exitUsage
			}
			fs := newFlagSet(c)
			c.setup(fs)
			writeUsage(e.stdout, c, fs)
			return exitOK
		}
		writeHelp(e.stdout)
		return exitOK
	}
	c := lookup(name)
	if c == nil {
		fmt.Fprintf(e.stderr, "ws: unknown command %q (see 'ws help')\n", name)
		return exitUsage
	}
	fs := newFlagSet(c)
	runCmd := c.setup(fs)
	err := func() error {
		pos, err := parse(e, c, fs, args[1:])
		if err != nil {
			return err
		}
		return runCmd(e, pos)
	}()
	var ee *exitError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ee) && ee.err == nil:
		return ee.code // the command has said what it had to
	case errors.As(err, &ee) && ee.code == exitUsage:
		fmt.Fprintf(e.stderr, "ws %s: %v (see 'ws %s -h')\n", c.name, oneLine(ee.err), c.name)
		return exitUsage
	case errors.As(err, &ee):
		fmt.Fprintf(e.stderr, "ws %s: %v\n", c.name, oneLine(ee.err))
		return ee.code
	default:
		fmt.Fprintf(e.stderr, "ws %s: %v\n", c.name, oneLine(err))
		return exitFailure
	}
}

// oneLine keeps an error message on one line.
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

// exitError carries an exit status. With a nil err, the command has
// reported the failure itself and only the status is left to return.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// usageError is a usage error: exit status 2.
func usageError(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// errHelpShown is returned by parse when -h was given and usage printed.
var errHelpShown = &exitError{code: exitOK}

// newFlagSet returns an empty flag set for c that prints nothing itself.
func newFlagSet(c *command) *flag.FlagSet {
	fs := flag.NewFlagSet("ws "+c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parse parses args, whose flags may come before or after the positional
// arguments (ws load URL -c 10 works as ws load -c 10 URL), and returns the
// positional ones. It prints the usage and returns errHelpShown for -h.
func parse(e *env, c *command, fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			writeUsage(e.stdout, c, fs)
			return nil, errHelpShown
		}
		if err != nil {
			return nil, &exitError{code: exitUsage, err: err}
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil // everything after -- is positional
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func writeHelp(w io.Writer) {
	fmt.Fprint(w, `ws is a WebSocket tool (RFC 6455): a server, a client, the conformance suite
and a load generator.

usage: ws COMMAND [flags] [arguments]

commands:
`)
	for _, name := range order {
		c := lookup(name)
		fmt.Fprintf(w, "  %-12s %s\n", c.name, c.short)
	}
	fmt.Fprint(w, `  help [CMD]   this text, or a command's usage (same as ws CMD -h)

Flags may come before or after the arguments. Sizes take units (512, 64KB,
1KiB, 1MiB); durations are Go durations (500ms, 10s, 2m).

A first session, in two terminals:
  ws serve                                  # echo server and test page on 127.0.0.1:8080
  ws dial ws://127.0.0.1:8080/              # type lines, see them echoed; Ctrl-D closes

exit status:
  0  success
  1  the work failed: a server that cannot be reached or refuses the handshake,
     a connection that ends without a clean close, failed conformance cases,
     a load run without a single successful round trip
  2  usage error: unknown command or flag, bad flag value, missing argument
Errors are one line on stderr, starting with "ws COMMAND:".
`)
}

func writeUsage(w io.Writer, c *command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "usage: ws %s %s\n\n%s\n", c.name, c.args, strings.TrimSpace(c.long))
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n > 0 {
		fmt.Fprint(w, "\nflags:\n")
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
}
