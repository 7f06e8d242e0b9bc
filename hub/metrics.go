package hub

import (
	"encoding/json"
	"expvar"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
)

// metrics are the hub's counters.
type metrics struct {
	connections  atomic.Int64
	accepted     atomic.Uint64
	messagesIn   atomic.Uint64
	bytesIn      atomic.Uint64
	messagesOut  atomic.Uint64
	bytesOut     atomic.Uint64
	queued       atomic.Int64
	dropped      atomic.Uint64
	slowClosed   atomic.Uint64
	pongs        atomic.Uint64
	pongTimeouts atomic.Uint64
	rateLimited  atomic.Uint64
	panics       atomic.Uint64
	errors       atomic.Uint64

	brokerPublished atomic.Uint64
	brokerFailed    atomic.Uint64
	brokerDropped   atomic.Uint64
	brokerOutages   atomic.Uint64
	brokerReceived  atomic.Uint64
	brokerInvalid   atomic.Uint64
}

// Stats is a snapshot of a hub's counters. Totals count from the hub's
// creation.
type Stats struct {
	Connections      int64  `json:"connections"`       // live clients
	ConnectionsTotal uint64 `json:"connections_total"` // clients ever added
	MessagesIn       uint64 `json:"messages_in"`       // messages received
	BytesIn          uint64 `json:"bytes_in"`          // payload bytes received
	MessagesOut      uint64 `json:"messages_out"`      // messages written
	BytesOut         uint64 `json:"bytes_out"`         // payload bytes written
	QueuedBytes      int64  `json:"queued_bytes"`      // payload bytes queued, all clients
	Dropped          uint64 `json:"dropped"`           // messages dropped on full queues
	SlowClosed       uint64 `json:"slow_closed"`       // clients closed for a full queue
	Pongs            uint64 `json:"pongs"`             // heartbeat pings answered
	PongTimeouts     uint64 `json:"pong_timeouts"`     // clients terminated by the heartbeat
	RateLimited      uint64 `json:"rate_limited"`      // messages over a rate limit
	Panics           uint64 `json:"panics"`            // panics recovered, in callbacks and in Broker.Publish
	Errors           uint64 `json:"errors"`            // clients that ended abnormally: no close from the peer, or closed by the hub for being slow, dead, over a limit or panicking

	// With a Broker (all zero without one):
	BrokerPublished uint64 `json:"broker_published"` // broadcasts published for the other servers
	BrokerFailed    uint64 `json:"broker_failed"`    // publications that failed (the other servers missed them)
	BrokerDropped   uint64 `json:"broker_dropped"`   // broadcasts not published: the broker queue was full
	BrokerOutages   uint64 `json:"broker_outages"`   // times publishing started failing after working (or at start)
	BrokerReceived  uint64 `json:"broker_received"`  // messages from other servers delivered here
	BrokerInvalid   uint64 `json:"broker_invalid"`   // messages from the broker dropped as invalid
}

// Stats returns a snapshot of the hub's counters.
func (h *Hub) Stats() Stats {
	m := &h.m
	return Stats{
		Connections:      m.connections.Load(),
		ConnectionsTotal: m.accepted.Load(),
		MessagesIn:       m.messagesIn.Load(),
		BytesIn:          m.bytesIn.Load(),
		MessagesOut:      m.messagesOut.Load(),
		BytesOut:         m.bytesOut.Load(),
		QueuedBytes:      m.queued.Load(),
		Dropped:          m.dropped.Load(),
		SlowClosed:       m.slowClosed.Load(),
		Pongs:            m.pongs.Load(),
		PongTimeouts:     m.pongTimeouts.Load(),
		RateLimited:      m.rateLimited.Load(),
		Panics:           m.panics.Load(),
		Errors:           m.errors.Load(),
		BrokerPublished:  m.brokerPublished.Load(),
		BrokerFailed:     m.brokerFailed.Load(),
		BrokerDropped:    m.brokerDropped.Load(),
		BrokerOutages:    m.brokerOutages.Load(),
		BrokerReceived:   m.brokerReceived.Load(),
		BrokerInvalid:    m.brokerInvalid.Load(),
	}
}

// Expvar returns the hub's Stats as an expvar.Var, for
// expvar.Publish("websocket", h.Expvar()); it then shows in /debug/vars.
func (h *Hub) Expvar() expvar.Var {
	return expvar.Func(func() any { return h.Stats() })
}

// MetricsHandler returns an http.Handler that serves the hub's Stats: as
// JSON, or in the Prometheus text format when the request has
// ?format=prometheus or accepts text/plain (as Prometheus's scraper does).
// Metric names start with prefix ("websocket_hub" if empty).
func (h *Hub) MetricsHandler(prefix string) http.Handler {
	if prefix == "" {
		prefix = "websocket_hub"
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := h.Stats()
		if r.URL.Query().Get("format") == "prometheus" || strings.Contains(r.Header.Get("Accept"), "text/plain") {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
			writePrometheus(w, prefix, &s)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(s)
	})
}

// writePrometheus writes s in the Prometheus text exposition format.
func writePrometheus(w http.ResponseWriter, prefix string, s *Stats) {
	metric := func(name, typ, help string, v any) {
		fmt.Fprintf(w, "# HELP %s_%s %s\n# TYPE %s_%s %s\n%s_%s %v\n", prefix, name, help, prefix, name, typ, prefix, name, v)
	}
	metric("connections", "gauge", "Live WebSocket connections.", s.Connections)
	metric("connections_total", "counter", "WebSocket connections added.", s.ConnectionsTotal)
	metric("messages_received_total", "counter", "Messages received.", s.MessagesIn)
	metric("received_bytes_total", "counter", "Payload bytes received.", s.BytesIn)
	metric("messages_sent_total", "counter", "Messages written.", s.MessagesOut)
	metric("sent_bytes_total", "counter", "Payload bytes written.", s.BytesOut)
	metric("queued_bytes", "gauge", "Payload bytes queued for writing.", s.QueuedBytes)
	metric("dropped_messages_total", "counter", "Messages dropped on full send queues.", s.Dropped)
	metric("slow_closed_total", "counter", "Connections closed for a full send queue.", s.SlowClosed)
	metric("pongs_total", "counter", "Heartbeat pings answered.", s.Pongs)
	metric("pong_timeouts_total", "counter", "Connections terminated for a late pong.", s.PongTimeouts)
	metric("rate_limited_total", "counter", "Messages over a rate limit.", s.RateLimited)
	metric("panics_total", "counter", "Panics recovered, in callbacks and in Broker.Publish.", s.Panics)
	metric("errors_total", "counter", "Connections that ended abnormally.", s.Errors)
	metric("broker_published_total", "counter", "Broadcasts published to the broker for the other servers.", s.BrokerPublished)
	metric("broker_failed_total", "counter", "Publications to the broker that failed.", s.BrokerFailed)
	metric("broker_dropped_total", "counter", "Broadcasts not published: the broker queue was full.", s.BrokerDropped)
	metric("broker_outages_total", "counter", "Broker outages seen by publishing.", s.BrokerOutages)
	metric("broker_received_total", "counter", "Messages from other servers delivered.", s.BrokerReceived)
	metric("broker_invalid_total", "counter", "Messages from the broker dropped as invalid.", s.BrokerInvalid)
}
