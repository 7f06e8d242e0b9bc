package event_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/client"
	"github.com/rfc6455/ws/closecode"
	"github.com/rfc6455/ws/event"
	"github.com/rfc6455/ws/server"
)

func TestParseRejectsBadEnvelopes(t *testing.T) {
	tests := []struct{ name, in string }{
		{"not JSON", `{"type":`},
		{"not an object", `["chat"]`},
		{"no type", `{"payload":1}`},
		{"empty type", `{"type":""}`},
		{"type not a string", `{"type":7}`},
		{"id not a string", `{"type":"a","id":7}`},
		{"ts not a number", `{"type":"a","ts":"now"}`},
		{"ts fractional", `{"type":"a","ts":1.5}`},
		{"trailing data", `{"type":"a"} {"type":"b"}`},
		{"trailing garbage", `{"type":"a"}x`},
		{"type too long", `{"type":"` + strings.Repeat("t", event.MaxTypeLen+1) + `"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := event.Parse([]byte(tt.in))
			var ee *event.Error
			if !errors.As(err, &ee) || ee.Code != event.CodeInvalidJSON {
				t.Fatalf("Parse(%s) = %v, want an %s error", tt.in, err, event.CodeInvalidJSON)
			}
			if code, _ := closecode.Of(err); code != closecode.InvalidPayload {
				t.Fatalf("close code %v, want 1007", code)
			}
		})
	}
}

func TestEnvelopeRoundTrip(t *testing.T) {
	ts := time.UnixMilli(1767225600123)
	in := &event.Event{Type: "chat\n\"é\"", ID: "42", Payload: json.RawMessage(`{"text":"<hi>"}`), Time: ts}
	b, err := in.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(b) {
		t.Fatalf("invalid JSON: %s", b)
	}
	out, err := event.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if out.Type != in.Type || out.ID != in.ID || string(out.Payload) != string(in.Payload) || !out.Time.Equal(ts) {
		t.Fatalf("round trip: %+v, want %+v", out, in)
	}
	// encoding/json uses the same form (escaping HTML characters, as it
	// always does).
	b2, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var v1, v2 any
	json.Unmarshal(b, &v1)
	json.Unmarshal(b2, &v2)
	if !reflect.DeepEqual(v1, v2) {
		t.Fatalf("json.Marshal = %s; want %s", b2, b)
	}
}

func TestEncodeStampsTimeAndOmitsNilPayload(t *testing.T) {
	b, err := event.Encode("tick", nil)
	if err != nil {
		t.Fatal(err)
	}
	e, err := event.Parse(b)
	if err != nil || e.Payload != nil || e.Time.IsZero() {
		t.Fatalf("Encode(tick, nil) = %s → %+v, %v", b, e, err)
	}
	if _, err := event.Encode("bad", func() {}); err == nil {
		t.Fatal("Encode of an unencodable payload succeeded")
	}
}

func TestDecodeRejectsPayloadsThatDoNotFit(t *testing.T) {
	e := &event.Event{Type: "t", Payload: json.RawMessage(`{"text":"a","extra":1}`)}
	var v struct{ Text string }
	err := e.Decode(&v)
	var ee *event.Error
	if !errors.As(err, &ee) || ee.Code != event.CodeInvalidPayload {
		t.Fatalf("Decode with an unknown field: %v", err)
	}
}

// fake is a Sender that records what it was asked to do.
type fake struct {
	mu     sync.Mutex
	sent   []*event.Event
	closed []ws.CloseCode
}

func (f *fake) Context() context.Context { return context.Background() }
func (f *fake) Send(typ ws.MessageType, data []byte) error {
	e, err := event.Parse(data)
	if err != nil {
		panic(err)
	}
	f.mu.Lock()
	f.sent = append(f.sent, e)
	f.mu.Unlock()
	return nil
}
func (f *fake) Close(code ws.CloseCode, reason string) error {
	if len(reason) > closecode.MaxReasonLen {
		panic("reason too long")
	}
	f.closed = append(f.closed, code)
	return nil
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newTestRouter(opts event.Options) *event.Router[*fake] {
	opts.Logger = quiet()
	r := event.NewRouter[*fake](&opts)
	r.Handle("echo", func(ctx context.Context, s *fake, e *event.Event) error {
		var v struct{ Text string }
		if err := e.Decode(&v); err != nil {
			return err
		}
		return event.Send(s, "echo", v)
	})
	r.Handle("fail", func(ctx context.Context, s *fake, e *event.Event) error {
		return errors.New("database password is hunter2")
	})
	r.Handle("deny", func(ctx context.Context, s *fake, e *event.Event) error {
		return &event.Error{Code: "forbidden", Message: "not in this room"}
	})
	r.Handle("panic", func(ctx context.Context, s *fake, e *event.Event) error {
		var m map[string]int
		m["boom"]++ // nil map: a real panic
		return nil
	})
	return r
}

func TestRouterAnswersEveryBadMessageWithAnErrorEvent(t *testing.T) {
	tests := []struct {
		name     string
		typ      ws.MessageType
		msg      string
		wantCode string
		wantRef  string
	}{
		{"invalid JSON", ws.Text, `{"type":"echo"`, event.CodeInvalidJSON, ""},
		{"binary", ws.Binary, `{"type":"echo"}`, event.CodeUnsupported, ""},
		{"unknown type", ws.Text, `{"type":"nope","id":"7"}`, event.CodeUnknownType, "nope"},
		{"bad payload", ws.Text, `{"type":"echo","payload":{"Text":1}}`, event.CodeInvalidPayload, "echo"},
		{"handler error hides details", ws.Text, `{"type":"fail"}`, event.CodeInternal, "fail"},
		{"handler *Error passes through", ws.Text, `{"type":"deny"}`, "forbidden", "deny"},
		{"panic", ws.Text, `{"type":"panic"}`, event.CodeInternal, "panic"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newTestRouter(event.Options{})
			f := &fake{}
			r.Dispatch(f, tt.typ, []byte(tt.msg))
			if len(f.closed) != 0 || len(f.sent) != 1 {
				t.Fatalf("closed %v, sent %d events; want one error event", f.closed, len(f.sent))
			}
			e := f.sent[0]
			var pe event.Error
			if err := e.Decode(&pe); err != nil || e.Type != "error" {
				t.Fatalf("reply %s %s: %v", e.Type, e.Payload, err)
			}
			if pe.Code != tt.wantCode || pe.Type != tt.wantRef {
				t.Fatalf("error %+v, want code %s about %q", pe, tt.wantCode, tt.wantRef)
			}
			if strings.Contains(pe.Message, "hunter2") {
				t.Fatal("a handler's internal error leaked to the peer")
			}
		})
	}
}

func TestRouterClosesWhenConfigured(t *testing.T) {
	tests := []struct {
		name string
		opts event.Options
		typ  ws.MessageType
		msg  string
		want ws.CloseCode
	}{
		{"invalid JSON", event.Options{CloseOnInvalid: true}, ws.Text, `nope`, ws.CloseInvalidPayload},
		{"binary", event.Options{CloseOnInvalid: true}, ws.Binary, `{}`, ws.CloseUnsupportedData},
		{"unknown type", event.Options{CloseOnUnknown: true}, ws.Text, `{"type":"nope"}`, ws.CloseUnsupportedData},
		{"panic", event.Options{CloseOnPanic: true}, ws.Text, `{"type":"panic"}`, ws.CloseInternalError},
		{"long reason cut", event.Options{CloseOnInvalid: true}, ws.Text, `{"type":"` + strings.Repeat("x", 500) + `"}`, ws.CloseInvalidPayload},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fake{}
			newTestRouter(tt.opts).Dispatch(f, tt.typ, []byte(tt.msg))
			if len(f.sent) != 0 || len(f.closed) != 1 || f.closed[0] != tt.want {
				t.Fatalf("sent %d, closed %v; want a close with %v", len(f.sent), f.closed, tt.want)
			}
		})
	}
}

func TestRouterStats(t *testing.T) {
	r := newTestRouter(event.Options{})
	f := &fake{}
	for _, m := range []string{`{"type":"echo","payload":{"Text":"a"}}`, `x`, `{"type":"no"}`, `{"type":"fail"}`, `{"type":"panic"}`} {
		r.Dispatch(f, ws.Text, []byte(m))
	}
	want := event.Stats{Handled: 1, Invalid: 1, Unknown: 1, Failed: 1, Panicked: 1}
	if got := r.Stats(); got != want {
		t.Fatalf("Stats = %+v, want %+v", got, want)
	}
}

// FuzzDispatch checks that no input makes Dispatch panic or stay silent.
func FuzzDispatch(f *testing.F) {
	for _, s := range []string{`{"type":"echo","payload":{"Text":"a"}}`, `{"type":"panic"}`, `{}`, `null`, `{"type":"a","ts":1e400}`} {
		f.Add([]byte(s))
	}
	r := newTestRouter(event.Options{})
	f.Fuzz(func(t *testing.T, b []byte) {
		s := &fake{}
		r.Dispatch(s, ws.Text, b)
		if len(s.sent) != 1 {
			t.Fatalf("%d replies to %q, want 1", len(s.sent), b)
		}
	})
}

func TestServeOverLoopback(t *testing.T) {
	before := numGoroutine()
	r := event.NewRouter[*event.Conn](&event.Options{Logger: quiet(), CloseOnUnknown: true})
	r.Handle("echo", func(ctx context.Context, c *event.Conn, e *event.Event) error {
		return c.Send(ws.Text, mustEncode(t, "echo", e.Payload))
	})
	served := make(chan error, 1)
	srv := httptest.NewServer(server.Handler(func(c *ws.Conn) {
		served <- event.Serve(context.Background(), c, r)
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := client.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	c.WriteMessage(ctx, ws.Text, mustEncode(t, "echo", map[string]int{"n": 1}))
	_, msg, err := c.ReadMessage(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if e, err := event.Parse(msg); err != nil || e.Type != "echo" || string(e.Payload) != `{"n":1}` {
		t.Fatalf("echo reply %s: %v", msg, err)
	}
	// An unknown type closes the connection with 1003.
	c.WriteMessage(ctx, ws.Text, []byte(`{"type":"what"}`))
	_, _, err = c.ReadMessage(ctx, nil)
	var ce *ws.CloseError
	if !errors.As(err, &ce) || ce.Code != ws.CloseUnsupportedData {
		t.Fatalf("after an unknown type: %v, want close 1003", err)
	}
	if err := <-served; !errors.As(err, &ce) {
		t.Fatalf("Serve returned %v, want the close", err)
	}
	srv.Close()
	waitGoroutines(t, before)
}

func mustEncode(t *testing.T, typ string, payload any) []byte {
	t.Helper()
	b, err := event.Encode(typ, payload)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
