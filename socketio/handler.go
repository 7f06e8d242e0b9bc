package socketio

import (
	"context"
	"fmt"
	"reflect"
	"sync"
)

// Router is what event handlers are registered on: a *Server (its main
// namespace), a *Namespace (every socket of it, or of every namespace a
// dynamic one creates), or a *Socket (that socket only, like socket.on in
// the JavaScript server). A socket's own handlers are tried first, then its
// namespace's, then those of the dynamic namespace that created it.
type Router interface {
	routes() *routes
}

// An eventFunc handles one event: it decodes the arguments, runs the
// handler, and returns the acknowledgement's arguments.
type eventFunc func(ctx context.Context, s *Socket, args Args) (ack []any, err error)

// routes holds the handlers of a Router.
type routes struct {
	mu sync.RWMutex
	m  map[string]eventFunc
}

func (r *routes) set(event string, fn eventFunc) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = make(map[string]eventFunc)
	}
	if fn == nil {
		delete(r.m, event)
		return
	}
	r.m[event] = fn
}

func (r *routes) get(event string) eventFunc {
	if r == nil {
		return nil
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.m[event]
}

// On registers fn as the handler of event on r. fn receives the event's
// first argument decoded into T:
//
//	type Message struct{ Text string `json:"text"` }
//
//	socketio.On(io, "message", func(ctx context.Context, s *socketio.Socket, m Message) error {
//		return s.Broadcast().Emit("message", m)
//	})
//
// T may be any type encoding/json decodes; []byte and Binary receive a
// binary attachment. Three types are special: Args receives every argument
// undecoded (use Args.Scan for several), struct{} accepts an event without
// arguments, and a pointer type makes the argument optional (nil when
// missing). Further arguments are ignored.
//
// When the argument is missing or does not decode into T, fn is not called
// and the client is told why (see Error). When the client asked for an
// acknowledgement, it is sent once fn returns: with no arguments if fn
// returned nil, with the error otherwise. ctx ends when the socket
// disconnects. Handlers of one socket run one at a time, in the order the
// events arrived; a handler may wait (for an acknowledgement from the same
// client, say) without stopping the socket's reading for more than a
// millisecond (see the package documentation).
//
// Registering nil removes the handler. On may be called at any time, from
// any goroutine; registering on a Socket inside OnConnection is the
// equivalent of socket.on in the JavaScript server.
func On[T any](r Router, event string, fn func(ctx context.Context, s *Socket, arg T) error) {
	if fn == nil {
		r.routes().set(event, nil)
		return
	}
	r.routes().set(event, func(ctx context.Context, s *Socket, args Args) ([]any, error) {
		var v T
		if err := decodeArg(args, &v); err != nil {
			return nil, err
		}
		return nil, fn(ctx, s, v)
	})
}

// OnAck registers fn as the handler of event on r, as On does, for an event
// answered with an acknowledgement: the result fn returns is its argument
// (a result of type Args is spread as its arguments, attachments
// included). When fn fails, the acknowledgement carries the error instead
// (see Error). When the client did not ask for an acknowledgement, the
// result is dropped.
//
//	socketio.OnAck(io, "sum", func(ctx context.Context, s *socketio.Socket, xs []int) (int, error) {
//		n := 0
//		for _, x := range xs {
//			n += x
//		}
//		return n, nil
//	})
func OnAck[T, R any](r Router, event string, fn func(ctx context.Context, s *Socket, arg T) (R, error)) {
	if fn == nil {
		r.routes().set(event, nil)
		return
	}
	r.routes().set(event, func(ctx context.Context, s *Socket, args Args) ([]any, error) {
		var v T
		if err := decodeArg(args, &v); err != nil {
			return nil, err
		}
		res, err := fn(ctx, s, v)
		if err != nil {
			return nil, err
		}
		return []any{res}, nil
	})
}

// decodeArg decodes what a handler of type T expects from args.
func decodeArg[T any](args Args, v *T) error {
	switch p := any(v).(type) {
	case *Args:
		*p = args
		return nil
	case *struct{}:
		return nil
	}
	if args.Len() == 0 {
		if typeOf[T]().Kind() == reflect.Pointer {
			return nil
		}
		return &Error{Code: CodeInvalidPayload, Message: fmt.Sprintf("expected an argument (%v)", typeOf[T]())}
	}
	return args.Decode(0, v)
}

// Reply decodes the first argument of an acknowledgement into T, passing
// EmitWithAck's error on: it turns an untyped answer into a typed one.
//
//	n, err := socketio.Reply[int](s.EmitWithAck(ctx, "count"))
func Reply[T any](args Args, err error) (T, error) {
	var v T
	if err != nil {
		return v, err
	}
	if err := decodeArg(args, &v); err != nil {
		return v, err
	}
	return v, nil
}
