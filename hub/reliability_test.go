package hub_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/hub"
	"github.com/rfc6455/ws/server"
)

// panickyBroker's Publish panics; Subscribe does nothing.
type panickyBroker struct{}

func (panickyBroker) Publish(context.Context, *hub.Message) error {
	panic("boom from Publish")
}
func (panickyBroker) Subscribe(func(*hub.Message)) (func(), error) { return func() {}, nil }

// lockedBuffer is a log destination safe for a logger and a test at once.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Issue 20, bug 5: a panic in Broker.Publish, called by the hub's pump, is
// recovered, logged with its stack, counted as a panic and a failed
// publication, and the pump goes on; local delivery is not affected.
func TestBrokerPublishPanicIsRecovered(t *testing.T) {
	noLeaks(t)
	var logs lockedBuffer
	e := newEnv(t, hub.Options{Broker: panickyBroker{}, Logger: slog.New(slog.NewTextHandler(&logs, nil))}, server.Options{})
	c, _ := e.dial("")
	r := read(c)
	for _, m := range []string{"one", "two"} {
		e.h.Broadcast(text(m))
		if got := string(r.next(t)); got != m {
			t.Fatalf("local delivery: %q, want %q", got, m)
		}
	}
	eventually(t, "both panics counted", func() bool {
		st := e.h.Stats()
		return st.Panics == 2 && st.BrokerFailed == 2
	})
	if l := logs.String(); !strings.Contains(l, "boom from Publish") || !strings.Contains(l, "reliability_test.go") {
		t.Fatalf("the log lacks the panic or its stack:\n%s", l)
	}
}

// Issue 20, bug 9: Stats.QueuedBytes comes back to zero once every client
// is gone, however sends race with the clients' ends.
func TestQueuedBytesBackToZeroAfterChurn(t *testing.T) {
	noLeaks(t)
	e := newEnv(t, hub.Options{PingInterval: -1}, server.Options{})
	pm, _ := ws.NewPreparedMessage(ws.Binary, make([]byte, 1000))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				e.h.Broadcast(pm)
			}
		}()
	}
	for i := range 60 {
		c, _ := e.dial("")
		if i%2 == 0 {
			c.CloseNow()
		} else {
			go c.Serve(context.Background(), ws.Handler{})
			c.Close(ws.CloseNormal, "")
		}
		e.nextGone()
	}
	close(stop)
	wg.Wait()
	if st := e.h.Stats(); st.Connections != 0 || st.QueuedBytes != 0 {
		t.Fatalf("no client left: Connections %d, QueuedBytes %d", st.Connections, st.QueuedBytes)
	}
}
