package natsbroker_test

import (
	"context"
	"testing"

	"github.com/rfc6455/ws"
)

// benchRoomLatency measures one message's way from a client of from, in
// room "r", to a client of to in the same room: the client's write, the
// hub's read and Room.Broadcast, the broker if the hubs differ, the hub's
// write and the client's read. One message is in flight at a time, so
// ns/op is the latency.
func benchRoomLatency(b *testing.B, from, to *hubServer) {
	sender := from.dial("s", "r")
	receiver := to.dial("r", "r")
	if from.b != nil {
		from.flush()
		to.flush()
	}
	ctx := context.Background()
	msg := make([]byte, 64)
	buf := make([]byte, 0, 128)
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	b.ResetTimer()
	for b.Loop() {
		if err := sender.WriteMessage(ctx, ws.Binary, msg); err != nil {
			b.Fatal(err)
		}
		if _, _, err := receiver.ReadMessage(ctx, buf); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRoomBroadcastInProcess: sender and receiver on one hub, no
// broker.
func BenchmarkRoomBroadcastInProcess(b *testing.B) {
	s := newHubServer(b, "A", "")
	benchRoomLatency(b, s, s)
}

// BenchmarkRoomBroadcastViaNATS: sender on hub A, receiver on hub B, the
// hubs joined by a NATS server on loopback.
func BenchmarkRoomBroadcastViaNATS(b *testing.B) {
	ns := startNATS(b, -1)
	from := newHubServer(b, "A", ns.ClientURL())
	to := newHubServer(b, "B", ns.ClientURL())
	benchRoomLatency(b, from, to)
}
