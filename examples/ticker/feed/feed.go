// Package feed is the server side of the ticker example: a few symbols
// whose prices take a random walk, pushed to every subscriber through a
// hub.Hub, and a dashboard page that shows them live.
//
// Clients speak the JSON events of package event. A client sends
//
//	{"type":"subscribe","payload":{"symbols":["ACME","GOPH"]}}
//
// (no symbols for all of them) and gets a "snapshot" of the current quotes,
// then a "price" event for each change of a symbol it subscribed to. Each
// symbol is a room of the hub: a price is encoded once and written to all
// of the room's clients, each through its own bounded queue, so a slow
// dashboard never holds up the others.
package feed

import (
	"context"
	"embed"
	"errors"
	"io/fs"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/event"
	"github.com/rfc6455/ws/hub"
	"github.com/rfc6455/ws/server"
)

//go:embed static
var static embed.FS

// DefaultSymbols are the symbols a Feed quotes when Options.Symbols is
// empty, with their starting prices.
var DefaultSymbols = map[string]float64{"ACME": 100, "GOPH": 42, "RFC": 64.55, "WSKT": 13.37}

// Quote is the payload of a "price" event, and an entry of a snapshot.
type Quote struct {
	Symbol string  `json:"symbol"`
	Price  float64 `json:"price"`
	Change float64 `json:"change"` // since the previous quote
	Seq    uint64  `json:"seq"`    // counts the symbol's quotes from 1
	TS     int64   `json:"ts"`     // Unix milliseconds
}

// Options configure a Feed. The zero value is ready to use.
type Options struct {
	// Symbols maps each symbol to its starting price; nil means
	// DefaultSymbols.
	Symbols map[string]float64
	// Interval is the time between two rounds of quotes; zero means
	// 500 ms.
	Interval time.Duration
	// Hub configures the hub; its OnMessage is the Feed's own.
	Hub hub.Options
}

// Feed is the price ticker server. Serve it with Handler, drive it with
// Run, stop it with Shutdown.
type Feed struct {
	interval time.Duration
	hub      *hub.Hub
	ws       *server.Server
	router   *event.Router[*hub.Client]
	rnd      *rand.Rand

	mu     sync.Mutex
	quotes map[string]Quote
}

// New returns a Feed. opts may be nil.
func New(opts *Options) *Feed {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Symbols == nil {
		o.Symbols = DefaultSymbols
	}
	if o.Interval <= 0 {
		o.Interval = 500 * time.Millisecond
	}
	f := &Feed{
		interval: o.Interval,
		rnd:      rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())),
		quotes:   make(map[string]Quote, len(o.Symbols)),
	}
	for s, p := range o.Symbols {
		f.quotes[s] = Quote{Symbol: s, Price: p}
	}
	f.router = event.NewRouter[*hub.Client](nil)
	f.router.Handle("subscribe", f.subscribe)
	ho := o.Hub
	ho.OnMessage = f.router.Dispatch
	f.hub = hub.New(&ho)
	f.ws = &server.Server{
		Options: server.Options{Conn: ws.Options{ReadLimit: 4 << 10}},
		Handle: func(c *ws.Conn, r *http.Request) {
			f.hub.Serve(r.Context(), c, hub.Info{})
		},
	}
	return f
}

// Handler serves the WebSocket endpoint at /ws and the dashboard at /.
func (f *Feed) Handler() http.Handler {
	page, _ := fs.Sub(static, "static")
	mux := http.NewServeMux()
	mux.Handle("GET /ws", f.ws)
	mux.Handle("GET /", http.FileServerFS(page))
	return mux
}

// Server returns the WebSocket endpoint that Handler serves at /ws, for
// server.Shutdown.
func (f *Feed) Server() *server.Server { return f.ws }

// Hub returns the hub the clients are in.
func (f *Feed) Hub() *hub.Hub { return f.hub }

// Run moves the prices every Interval and pushes them until ctx ends.
func (f *Feed) Run(ctx context.Context) {
	t := time.NewTicker(f.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f.Step()
		}
	}
}

// Step moves every price one step of its random walk (a change of up to
// 1% either way, never below one cent) and pushes the quotes to their
// subscribers.
func (f *Feed) Step() {
	f.mu.Lock()
	var changed []Quote
	for _, s := range f.symbolsLocked() {
		q := f.quotes[s]
		p := q.Price * (1 + (f.rnd.Float64()*2-1)/100)
		p = math.Max(0.01, math.Round(p*100)/100)
		q.Change = math.Round((p-q.Price)*100) / 100
		q.Price = p
		q.Seq++
		q.TS = time.Now().UnixMilli()
		f.quotes[s] = q
		changed = append(changed, q)
	}
	// Broadcast before unlocking (it never blocks), so that a subscriber,
	// which joins and queues its snapshot under the same lock, gets every
	// price after its snapshot, never before it.
	defer f.mu.Unlock()
	for _, q := range changed {
		if pm, err := event.Prepare("price", q); err == nil {
			f.hub.Room(q.Symbol).Broadcast(pm)
		}
	}
}

// symbolsLocked returns the symbols, sorted; f.mu must be held.
func (f *Feed) symbolsLocked() []string {
	s := make([]string, 0, len(f.quotes))
	for k := range f.quotes {
		s = append(s, k)
	}
	slices.Sort(s)
	return s
}

// subscribe joins the client to the rooms of the symbols it asks for (all
// when none) and sends it their current quotes.
func (f *Feed) subscribe(ctx context.Context, c *hub.Client, e *event.Event) error {
	var p struct {
		Symbols []string `json:"symbols"`
	}
	if err := e.Decode(&p); err != nil {
		return err
	}
	f.mu.Lock()
	if len(p.Symbols) == 0 {
		p.Symbols = f.symbolsLocked()
	}
	snap := make([]Quote, 0, len(p.Symbols))
	for _, s := range p.Symbols {
		q, ok := f.quotes[s]
		if !ok {
			f.mu.Unlock()
			return &event.Error{Code: event.CodeInvalidPayload, Message: "unknown symbol " + s}
		}
		snap = append(snap, q)
	}
	defer f.mu.Unlock()
	c.Join(p.Symbols...)
	return event.Send(c, "snapshot", snap)
}

// Shutdown closes every client with 1001 "server shutting down" and waits
// for them, bounded by ctx. Run should be stopped as well.
func (f *Feed) Shutdown(ctx context.Context) error {
	return errors.Join(f.ws.Shutdown(ctx), f.hub.Shutdown(ctx))
}
