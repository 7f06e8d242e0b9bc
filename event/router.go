package event

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/closecode"
)

// Sender is a connection a Router answers on. *hub.Client implements it;
// Conn adapts a plain *ws.Conn.
type Sender interface {
	// Context is the connection's context, passed to handlers. It ends
	// when the connection does.
	Context() context.Context
	// Send sends a message. It must be safe to call from the
	// connection's read loop.
	Send(typ ws.MessageType, data []byte) error
	// Close closes the connection with code and reason. It must not wait
	// for the peer when called from the connection's read loop.
	Close(code ws.CloseCode, reason string) error
}

// HandlerFunc handles one event received on s. An *Error it returns is sent
// back to the peer as an error event; any other error is logged and the peer
// is told only CodeInternal, so that no internal detail leaks.
type HandlerFunc[S Sender] func(ctx context.Context, s S, e *Event) error

// Options configure a Router. The zero value answers every bad message
// with an error event and keeps the connection open.
type Options struct {
	// ErrorType is the type of the error events the Router sends; ""
	// means "error".
	ErrorType string

	// CloseOnInvalid closes the connection instead of answering with an
	// error event when a message is not a valid envelope (1007, invalid
	// payload data) or is binary (1003, unsupported data).
	CloseOnInvalid bool

	// CloseOnUnknown closes the connection with 1003 (unsupported data)
	// instead of answering with an error event when no handler is
	// registered for an event's type.
	CloseOnUnknown bool

	// CloseOnPanic closes the connection with 1011 (internal error)
	// instead of answering with an error event when a handler panics. The
	// panic is recovered and logged either way, and the server goes on.
	CloseOnPanic bool

	// Logger receives handler errors and recovered panics; nil means
	// slog.Default().
	Logger *slog.Logger
}

// Stats counts what a Router has seen.
type Stats struct {
	Handled  uint64 `json:"handled"`  // events a handler returned nil for
	Invalid  uint64 `json:"invalid"`  // messages that were not valid envelopes
	Unknown  uint64 `json:"unknown"`  // events of a type with no handler
	Failed   uint64 `json:"failed"`   // events whose handler returned an error
	Panicked uint64 `json:"panicked"` // events whose handler panicked
}

// Router dispatches events to the handler registered for their type. It is
// safe for concurrent use; handlers may be added while it runs.
type Router[S Sender] struct {
	opts Options
	log  *slog.Logger

	mu       sync.RWMutex
	handlers map[string]HandlerFunc[S]

	handled, invalid, unknown, failed, panicked atomic.Uint64
}

// NewRouter returns a Router with no handlers. opts may be nil.
func NewRouter[S Sender](opts *Options) *Router[S] {
	r := &Router[S]{handlers: make(map[string]HandlerFunc[S])}
	if opts != nil {
		r.opts = *opts
	}
	if r.opts.ErrorType == "" {
		r.opts.ErrorType = "error"
	}
	r.log = r.opts.Logger
	if r.log == nil {
		r.log = slog.Default()
	}
	return r
}

// Handle registers h for events of type typ, replacing any handler before
// it.
func (r *Router[S]) Handle(typ string, h HandlerFunc[S]) {
	if typ == "" || len(typ) > MaxTypeLen {
		panic(fmt.Sprintf("event: Handle with an invalid type %q", typ))
	}
	r.mu.Lock()
	r.handlers[typ] = h
	r.mu.Unlock()
}

// Stats returns the counts so far.
func (r *Router[S]) Stats() Stats {
	return Stats{
		Handled:  r.handled.Load(),
		Invalid:  r.invalid.Load(),
		Unknown:  r.unknown.Load(),
		Failed:   r.failed.Load(),
		Panicked: r.panicked.Load(),
	}
}

// Dispatch parses a message received on s and runs the handler for its
// type, on the calling goroutine. Bad messages, unknown types, handler
// errors and panics are answered as the Options say; Dispatch itself never
// panics on input. Its signature fits hub.Options.OnMessage:
//
//	h := hub.New(&hub.Options{OnMessage: router.Dispatch})
func (r *Router[S]) Dispatch(s S, typ ws.MessageType, data []byte) {
	if typ != ws.Text {
		r.invalid.Add(1)
		r.reject(s, &Error{Code: CodeUnsupported, Message: "events are JSON text messages"}, r.opts.CloseOnInvalid)
		return
	}
	e, err := Parse(data)
	if err != nil {
		r.invalid.Add(1)
		r.reject(s, err.(*Error), r.opts.CloseOnInvalid)
		return
	}
	r.mu.RLock()
	h := r.handlers[e.Type]
	r.mu.RUnlock()
	if h == nil {
		r.unknown.Add(1)
		r.reject(s, &Error{Code: CodeUnknownType, Message: "no handler for this event type", Type: e.Type, ID: e.ID}, r.opts.CloseOnUnknown)
		return
	}
	r.run(s, h, e)
}

// run calls h, recovering a panic.
func (r *Router[S]) run(s S, h HandlerFunc[S], e *Event) {
	defer func() {
		if v := recover(); v != nil {
			r.panicked.Add(1)
			r.log.Error("event: handler panicked", "type", e.Type, "id", e.ID, "panic", v, "stack", string(debug.Stack()))
			r.reject(s, &Error{Code: CodeInternal, Message: "internal error", Type: e.Type, ID: e.ID}, r.opts.CloseOnPanic)
		}
	}()
	err := h(s.Context(), s, e)
	if err == nil {
		r.handled.Add(1)
		return
	}
	r.failed.Add(1)
	var ee *Error
	if errors.As(err, &ee) {
		reply := *ee
		if reply.Type == "" {
			reply.Type, reply.ID = e.Type, e.ID
		}
		r.reply(s, &reply)
		return
	}
	r.log.Warn("event: handler failed", "type", e.Type, "id", e.ID, "err", err)
	r.reply(s, &Error{Code: CodeInternal, Message: "internal error", Type: e.Type, ID: e.ID})
}

// reject answers a message the Router could not handle: with a close
// carrying e's close code, or with an error event.
func (r *Router[S]) reject(s S, e *Error, close bool) {
	if close {
		s.Close(ws.CloseCode(e.CloseCode()), Reason(e.Message))
		return
	}
	r.reply(s, e)
}

// reply sends e as an error event.
func (r *Router[S]) reply(s S, e *Error) {
	if err := Send(s, r.opts.ErrorType, e); err != nil {
		r.log.Debug("event: error event not sent", "code", e.Code, "err", err)
	}
}

// Reason cuts s to fit a close frame's reason (123 bytes, RFC 6455 §5.5),
// at a UTF-8 boundary.
func Reason(s string) string {
	if len(s) <= closecode.MaxReasonLen {
		return s
	}
	return strings.ToValidUTF8(s[:closecode.MaxReasonLen], "")
}
