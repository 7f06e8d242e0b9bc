package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/client"
)

func init() {
	commands = append(commands, &command{
		name:  "dial",
		args:  "[flags] URL",
		short: "connect to a WebSocket server: interactive, or one-shot with -send",
		long: `
Connect to the WebSocket server at URL (ws://, wss://; http:// and https://
are taken as their aliases).

Interactively, each line read from stdin is sent as a text message (binary
with -binary), and the transcript goes to stdout, one line per message, as on
the test page of ws serve: "> " and what was sent, "< " and what was
received; text as it is, binary as "binary" and its hex (or base64, with
-binary-format). On a terminal the line typed is replaced by its "> " line.
The end of the input (Ctrl-D) or Ctrl-C closes the connection with 1000
(normal closure): the echoes of the lines sent before it are still printed.
Status lines (connected, closed) go to stderr.

With -send, the command sends the message(s) given, prints the first reply
(-n replies; 0 for none) as it is, without a mark, closes the connection
with 1000 and exits 0: made for scripts. No reply within -timeout is an error (exit 1).

It exits 0 after a clean close, whichever side started it (1000 or 1001
from the server); 1 when the server cannot be reached or refuses the
handshake, or the connection ends any other way.

  ws dial ws://127.0.0.1:8080/
  ws dial -send hello ws://127.0.0.1:8080/
  ws dial -send ping -send again -n 2 ws://127.0.0.1:8080/chat
  ws dial -H 'Authorization: Bearer TOKEN' -subprotocols chat.v2 wss://example.com/ws
  ws dial -compress -cacert ca.pem wss://localhost:8443/`,
		setup: setupDial,
	})
}

func setupDial(fs *flag.FlagSet) func(e *env, args []string) error {
	var d dialCmd
	d.flags.define(fs)
	fs.Var(&d.send, "send", "send this text `message`, print the replies, close and exit (repeatable)")
	fs.IntVar(&d.replies, "n", 1, "with -send: the number of replies to wait for and print")
	fs.BoolVar(&d.binary, "binary", false, "send messages as binary instead of text")
	fs.StringVar(&d.binaryFormat, "binary-format", "hex", "print binary messages received as `hex` or base64")
	fs.DurationVar(&d.timeout, "timeout", 10*time.Second, "bound the handshake and, with -send, the wait for the replies")
	return func(e *env, args []string) error {
		url, err := oneURL(args)
		if err != nil {
			return err
		}
		if d.binaryFormat != "hex" && d.binaryFormat != "base64" {
			return usageError("-binary-format %q: want hex or base64", d.binaryFormat)
		}
		if d.replies < 0 {
			return usageError("-n %d: want 0 or more replies", d.replies)
		}
		if d.timeout <= 0 {
			return usageError("-timeout must be positive")
		}
		opts, err := d.flags.options()
		if err != nil {
			return err
		}
		opts.HandshakeTimeout = d.timeout
		d.e, d.url = e, url
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
		defer stop()
		c, _, err := client.Dial(ctx, url, opts)
		if err != nil {
			return dialError(url, err, fmt.Sprintf("-timeout %s", d.timeout))
		}
		defer c.CloseNow()
		d.typ = ws.Text
		if d.binary {
			d.typ = ws.Binary
		}
		if len(d.send) > 0 {
			return d.oneShot(ctx, c)
		}
		stop() // from here on, signals are watched by interactive
		return d.interactive(c)
	}
}

// dialCmd is a running ws dial.
type dialCmd struct {
	flags        dialFlags
	send         listFlag
	replies      int
	binary       bool
	binaryFormat string
	timeout      time.Duration

	e   *env
	url string
	typ ws.MessageType

	outMu sync.Mutex // one transcript line at a time
}

// print writes a message received to stdout, on a line of its own.
func (d *dialCmd) print(typ ws.MessageType, msg []byte) {
	var line string
	switch {
	case typ == ws.Text:
		line = string(msg)
	case d.binaryFormat == "base64":
		line = base64.StdEncoding.EncodeToString(msg)
	default:
		line = hex.EncodeToString(msg)
	}
	io.WriteString(d.e.stdout, line+"\n")
}

// format formats a message for a transcript line: text as it is, binary
// as "binary" and its hex or base64.
func (d *dialCmd) format(typ ws.MessageType, msg []byte) string {
	switch {
	case typ == ws.Text:
		return string(msg)
	case d.binaryFormat == "base64":
		return "binary " + base64.StdEncoding.EncodeToString(msg)
	}
	return "binary " + hex.EncodeToString(msg)
}

// mark writes a line of the interactive transcript: "> " for a message
// sent, "< " for one received. With sent on a terminal, the line the user
// typed (echoed by the terminal) is replaced by it.
func (d *dialCmd) mark(sent bool, typ ws.MessageType, msg []byte) {
	d.outMu.Lock()
	defer d.outMu.Unlock()
	prefix := "< "
	if sent {
		prefix = "> "
		if d.e.stdinTTY && d.e.stdoutTTY {
			prefix = "\x1b[1A\x1b[2K> " // up a line, clear it
		}
	}
	io.WriteString(d.e.stdout, prefix+d.format(typ, msg)+"\n")
}

// oneShot sends the -send messages, prints the replies and closes.
func (d *dialCmd) oneShot(ctx context.Context, c *ws.Conn) error {
	for _, m := range d.send {
		if err := c.WriteMessage(ctx, d.typ, []byte(m)); err != nil {
			return fmt.Errorf("sending: %w", err)
		}
	}
	rctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	var buf []byte
	for got := 0; got < d.replies; got++ {
		typ, msg, err := c.ReadMessage(rctx, buf)
		if err != nil {
			var ce *ws.CloseError
			switch {
			case errors.As(err, &ce):
				return fmt.Errorf("the server closed the connection with %s after %d of %d replies", describeClose(ce), got, d.replies)
			case errors.Is(err, context.DeadlineExceeded):
				return fmt.Errorf("%d of %d replies within -timeout %s", got, d.replies, d.timeout)
			case errors.Is(err, context.Canceled):
				return fmt.Errorf("interrupted after %d of %d replies", got, d.replies)
			}
			return fmt.Errorf("connection lost after %d of %d replies: %w", got, d.replies, err)
		}
		d.print(typ, msg)
		buf = msg
	}
	if err := c.Close(ws.CloseNormal, ""); err != nil {
		return fmt.Errorf("closing: %w", err)
	}
	return nil
}

// interactive sends stdin's lines and prints what arrives until stdin ends,
// a signal comes or the server closes.
func (d *dialCmd) interactive(c *ws.Conn) error {
	sig, stopSig := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stopSig()
	var with []string
	if p := c.Subprotocol(); p != "" {
		with = append(with, "subprotocol "+p)
	}
	if _, ok := c.Compression(); ok {
		with = append(with, "permessage-deflate")
	}
	extra := ""
	if len(with) > 0 {
		extra = " (" + strings.Join(with, ", ") + ")"
	}
	fmt.Fprintf(d.e.stderr, "connected to %s%s; lines typed are sent, Ctrl-D or Ctrl-C closes\n", d.url, extra)

	readErr := make(chan error, 1)
	go func() {
		var buf []byte
		for {
			typ, msg, err := c.ReadMessage(context.Background(), buf)
			if err != nil {
				readErr <- err
				return
			}
			d.mark(false, typ, msg)
			buf = msg
		}
	}()
	inputDone := make(chan error, 1)
	go func() {
		br := bufio.NewReader(d.e.stdin)
		for {
			line, err := br.ReadString('\n')
			if line != "" {
				line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
				// Marked before it is written, so that its echo
				// cannot come first.
				d.mark(true, d.typ, []byte(line))
				if werr := c.WriteMessage(context.Background(), d.typ, []byte(line)); werr != nil {
					inputDone <- werr
					return
				}
			}
			if err != nil {
				inputDone <- err
				return
			}
		}
	}()

	select {
	case err := <-readErr:
		return d.ended(err)
	case err := <-inputDone:
		if !errors.Is(err, io.EOF) {
			// A write failed: the connection ended, and the reader knows why.
			return d.ended(<-readErr)
		}
	case <-sig.Done():
		stopSig() // a second Ctrl-C ends the process at once
	}
	closeErr := c.Close(ws.CloseNormal, "")
	<-readErr // the reader has printed every message that came before the close
	if closeErr != nil {
		return fmt.Errorf("closing: %w", closeErr)
	}
	fmt.Fprintln(d.e.stderr, "closed with 1000 (normal closure)")
	return nil
}

// ended reports a connection that the server closed or that was lost.
func (d *dialCmd) ended(err error) error {
	var ce *ws.CloseError
	if errors.As(err, &ce) {
		if ce.Code == ws.CloseNormal || ce.Code == ws.CloseGoingAway {
			fmt.Fprintf(d.e.stderr, "closed by the server with %s\n", describeClose(ce))
			return nil
		}
		return fmt.Errorf("the server closed the connection with %s", describeClose(ce))
	}
	return fmt.Errorf("connection lost: %w", err)
}

// describeClose formats a close code and reason: 1001 "going away".
func describeClose(ce *ws.CloseError) string {
	s := fmt.Sprintf("%d", uint16(ce.Code))
	if ce.Reason != "" {
		s += fmt.Sprintf(" %q", ce.Reason)
	}
	return s
}
