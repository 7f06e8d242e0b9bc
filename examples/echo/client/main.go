// Command client is an interactive WebSocket client: each line typed is
// sent as a text message, and every message received is printed.
//
//	go run ./examples/echo -serve &
//	go run ./examples/echo/client -url ws://127.0.0.1:8080/ws
//
// End the input (Ctrl-D) to close the connection with 1000; Ctrl-C does
// the same.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/client"
)

func main() {
	log.SetFlags(0)
	url := flag.String("url", "ws://127.0.0.1:8080/ws", "WebSocket URL to connect to")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *url, os.Stdin, os.Stdout); err != nil {
		log.Fatal("client: ", err)
	}
}

// run connects to url, sends each line of in as a text message and prints
// what arrives to out, until in ends, ctx ends or the server closes. When in
// ends it waits for the echoes of the lines it sent (for a while) before it
// closes: a Close while messages are still arriving would drop them.
func run(ctx context.Context, url string, in io.Reader, out io.Writer) error {
	dialCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	c, _, err := client.Dial(dialCtx, url, nil)
	cancel()
	if err != nil {
		return err
	}
	defer c.CloseNow()
	fmt.Fprintf(out, "connected to %s; type lines to send, Ctrl-D to quit\n", url)

	msgs := make(chan message)
	readDone := make(chan error, 1)
	go func() {
		for {
			typ, data, err := c.ReadMessage(context.Background(), nil)
			if err != nil {
				readDone <- err
				close(msgs)
				return
			}
			msgs <- message{typ, data}
		}
	}()

	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(in)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
	}()

	sent, received := 0, 0
	var grace <-chan time.Time // runs once the input has ended
	for {
		if grace != nil && received >= sent {
			return closeAndWait(c, msgs, readDone, out)
		}
		select {
		case line, ok := <-lines:
			if !ok {
				lines = nil
				grace = time.After(2 * time.Second)
				continue
			}
			if err := c.WriteMessage(ctx, ws.Text, []byte(line)); err != nil {
				return err
			}
			sent++
		case m, ok := <-msgs:
			if !ok {
				return describeEnd(<-readDone, out)
			}
			received++
			printMessage(out, m.typ, m.data)
		case <-grace:
			return closeAndWait(c, msgs, readDone, out)
		case <-ctx.Done():
			return closeAndWait(c, msgs, readDone, out)
		}
	}
}

func printMessage(out io.Writer, typ ws.MessageType, data []byte) {
	if typ == ws.Text {
		fmt.Fprintf(out, "< %s\n", data)
	} else {
		fmt.Fprintf(out, "< binary % x\n", data)
	}
}

// message is one message received.
type message struct {
	typ  ws.MessageType
	data []byte
}

// closeAndWait closes with 1000 while the reader goroutine keeps reading,
// prints what still arrives, and reports the server's answer.
func closeAndWait(c *ws.Conn, msgs <-chan message, readDone <-chan error, out io.Writer) error {
	closed := make(chan error, 1)
	go func() { closed <- c.Close(ws.CloseNormal, "bye") }()
	for m := range msgs {
		printMessage(out, m.typ, m.data)
	}
	if err := <-closed; err != nil {
		return err
	}
	return describeEnd(<-readDone, out)
}

func describeEnd(err error, out io.Writer) error {
	var ce *ws.CloseError
	if errors.As(err, &ce) {
		fmt.Fprintf(out, "closed: %d %q\n", uint16(ce.Code), ce.Reason)
		return nil
	}
	return err
}
