package hub_test

import (
	"context"
	"io"
	"net"
	"testing"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/hub"
)

// BenchmarkBroadcast measures a broadcast of one prepared 128-byte message
// to 100 clients over in-memory pipes whose peers read and discard. It
// reports the cost for the broadcaster (queueing), which is what a slow
// client must never make grow.
func BenchmarkBroadcast(b *testing.B) {
	const clients = 100
	registered := make(chan struct{}, clients)
	h := hub.New(&hub.Options{Logger: quiet(), PingInterval: -1, QueueSize: 1 << 14, OnConnect: func(*hub.Client) { registered <- struct{}{} }})
	var peers []net.Conn
	done := make(chan struct{}, 2*clients)
	for range clients {
		a, p := net.Pipe()
		peers = append(peers, p)
		go func() { io.Copy(io.Discard, p); done <- struct{}{} }()
		go func() {
			h.Serve(context.Background(), ws.NewConn(a, nil, ws.RoleServer, nil), hub.Info{})
			done <- struct{}{}
		}()
		<-registered
	}
	pm, _ := ws.NewPreparedMessage(ws.Text, make([]byte, 128))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		h.Broadcast(pm)
	}
	b.StopTimer()
	b.ReportMetric(float64(h.Stats().Dropped)/float64(b.N), "drops/op")
	for _, p := range peers {
		p.Close()
	}
	for range 2 * clients {
		<-done
	}
}
