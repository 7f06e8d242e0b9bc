package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"syscall"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/client"
)

// errorKind names err for the error summary: op (dial, write, read, echo,
// close) and a description without addresses or ports, so that the same
// failure on many connections is counted under one name.
func errorKind(op string, err error) string {
	var (
		ce    *ws.CloseError
		he    *client.HandshakeError
		errno syscall.Errno
		ne    net.Error
	)
	switch {
	case errors.As(err, &ce):
		return fmt.Sprintf("%s: closed by the server with %d", op, uint16(ce.Code))
	case errors.As(err, &he):
		return fmt.Sprintf("%s: handshake refused: %s", op, he.Response.Status)
	case errors.As(err, &errno):
		return op + ": " + errno.Error()
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return op + ": timeout"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return op + ": connection closed by the server"
	case errors.Is(err, net.ErrClosed), errors.Is(err, ws.ErrClosed):
		return op + ": connection closed"
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 && op != "echo" {
		msg = msg[i+2:] // the innermost cause, without the addresses before it
	}
	return op + ": " + msg
}

// sortErrors orders error counts by count, most frequent first, then kind.
func sortErrors(list []ErrorCount) {
	slices.SortFunc(list, func(a, b ErrorCount) int {
		if a.Count != b.Count {
			if a.Count > b.Count {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Kind, b.Kind)
	})
}
