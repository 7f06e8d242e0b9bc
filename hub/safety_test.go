package hub_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/hub"
)

// pipeClient adds a connection over net.Pipe to h and returns the peer's
// end, which nothing reads until the test does: the hub's writer for it
// blocks on the first message, and the rest wait in its queue.
func pipeClient(t *testing.T, h *hub.Hub, registered <-chan *hub.Client) (*ws.Conn, *hub.Client) {
	t.Helper()
	a, b := net.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.Serve(context.Background(), ws.NewConn(a, nil, ws.RoleServer, nil), hub.Info{})
	}()
	peer := ws.NewConn(b, nil, ws.RoleClient, nil)
	t.Cleanup(func() {
		peer.CloseNow()
		<-done
	})
	select {
	case c := <-registered:
		return peer, c
	case <-time.After(testTimeout):
		t.Fatal("client not registered")
		return nil, nil
	}
}

// TestBroadcastOfTheCallbacksDataKeepsItsBytes is the first thing a
// gorilla or Node user writes: prepare the message OnMessage received and
// broadcast it. OnMessage's data is the connection's read buffer, reused
// for the next message; the prepared message must own its bytes, or the
// messages still queued for a slow receiver are overwritten (text frames
// then carry invalid UTF-8, and a browser closes the connection).
func TestBroadcastOfTheCallbacksDataKeepsItsBytes(t *testing.T) {
	noLeaks(t)
	registered := make(chan *hub.Client, 2)
	h := hub.New(&hub.Options{
		Logger:       quiet(),
		PingInterval: -1,
		QueueSize:    1024,
		OnConnect:    func(c *hub.Client) { registered <- c },
		OnMessage: func(c *hub.Client, typ ws.MessageType, data []byte) {
			pm, err := ws.NewPreparedMessage(typ, data)
			if err != nil {
				panic(err)
			}
			c.Hub().Broadcast(pm, c)
		},
	})
	receiver, _ := pipeClient(t, h, registered)
	sender, _ := pipeClient(t, h, registered)

	// Distinct messages of different lengths, each valid UTF-8 only as a
	// whole ("é" is two bytes).
	const n = 300
	want := make([]string, n)
	for i := range want {
		want[i] = fmt.Sprintf("message %03d %s", i, strings.Repeat("é", i%17))
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	go func() {
		// The sender reads nothing but must answer the hub's close at
		// the end of the test.
		for {
			if _, _, err := sender.ReadMessage(context.Background(), nil); err != nil {
				return
			}
		}
	}()
	for _, m := range want {
		if err := sender.WriteMessage(ctx, ws.Text, []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	// Every message has been handled (and its bytes overwritten by the
	// next one) before the receiver reads the first.
	eventually(t, "every message handled", func() bool { return h.Stats().MessagesIn == n })
	for i, w := range want {
		typ, got, err := receiver.ReadMessage(ctx, nil)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if typ != ws.Text || string(got) != w {
			t.Fatalf("message %d: got %v %q, want %q", i, typ, got, w)
		}
	}
}

// logRecords is a slog.Handler that keeps the records at Warn and above.
type logRecords struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (l *logRecords) Enabled(_ context.Context, lv slog.Level) bool { return lv >= slog.LevelWarn }
func (l *logRecords) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recs = append(l.recs, r.Clone())
	return nil
}
func (l *logRecords) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logRecords) WithGroup(string) slog.Handler      { return l }

// drops returns the records about dropped messages, as their attributes.
func (l *logRecords) drops() []map[string]slog.Value {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]slog.Value
	for _, r := range l.recs {
		if !strings.Contains(r.Message, "dropped") {
			continue
		}
		attrs := map[string]slog.Value{"level": slog.StringValue(r.Level.String())}
		r.Attrs(func(a slog.Attr) bool { attrs[a.Key] = a.Value; return true })
		out = append(out, attrs)
	}
	return out
}

// TestDropsAreLogged: with the default Overflow (Drop), a flood that a
// client cannot take is logged at Warn with the client and the count, at
// once and then at most once per DropLogInterval, and the counts of the
// records add up to the drops when the client is gone.
func TestDropsAreLogged(t *testing.T) {
	noLeaks(t)
	logs := &logRecords{}
	registered := make(chan *hub.Client, 1)
	h := hub.New(&hub.Options{
		Logger:       slog.New(logs),
		PingInterval: -1,
		QueueSize:    8,
		OnConnect:    func(c *hub.Client) { registered <- c },
	})
	_, c := pipeClient(t, h, registered)

	start := time.Now()
	pm := text("flood")
	const sent = 2000
	for range sent {
		h.Broadcast(pm)
	}
	dropped := c.Dropped()
	if dropped < sent-10 {
		t.Fatalf("dropped %d of %d; the test wants a flood", dropped, sent)
	}
	recs := logs.drops()
	if len(recs) == 0 {
		t.Fatal("no record of the drops at once")
	}
	first := recs[0]
	if first["level"].String() != "WARN" || first["id"].String() != c.ID() || first["dropped"].Uint64() < 1 {
		t.Errorf("first record: %v", first)
	}
	// Rate-limited: one at once, then one per interval at most.
	if max := 1 + int(time.Since(start)/hub.DefaultDropLogInterval); len(recs) > max {
		t.Errorf("%d records for %v of drops, want at most %d", len(recs), time.Since(start), max)
	}

	// When the client ends, what was not logged yet is.
	c.Close(ws.CloseNormal, "")
	c.Transport().CloseNow()
	eventually(t, "the client gone", func() bool { return h.Len() == 0 })
	var sum uint64
	for _, r := range logs.drops() {
		if r["id"].String() != c.ID() {
			t.Errorf("record for another client: %v", r)
		}
		sum += r["dropped"].Uint64()
	}
	if sum != c.Dropped() || c.Dropped() != h.Stats().Dropped {
		t.Errorf("records count %d drops, the client %d, the hub %d", sum, c.Dropped(), h.Stats().Dropped)
	}
}
