// Package natsbroker joins the hubs of several servers through NATS
// (https://nats.io), so that a message broadcast to a room, a namespace, a
// user or everyone reaches those clients on every server, as Socket.IO's
// adapters do over Redis. It is a hub.Broker over NATS core
// publish/subscribe, in a module of its own so that the core module keeps
// no dependencies.
//
//	broker, err := natsbroker.Connect("nats://127.0.0.1:4222", nil)
//	if err != nil { … }
//	defer broker.Close()          // after h.Shutdown
//	h := hub.New(&hub.Options{Broker: broker, OnMessage: …})
//	…
//	c.Namespace().Room("lobby").Broadcast(pm, c) // the lobby on every server
//
// Use one Broker per hub: it is one NATS connection, created with NoEcho so
// that the NATS server does not send a hub's own publications back to it.
//
// # Delivery
//
// Each hub delivers a broadcast to its own clients at once and publishes it
// on NATS; every other hub delivers it to its own clients in the scope.
// Room membership stays local: a hub publishes every room broadcast, and
// each hub delivers to the members it has. A client receives each
// broadcast once: its own hub never delivers what comes back from the
// broker (hub.Message.Origin names the publishing server, and NoEcho keeps
// it from coming back at all), and NATS does not duplicate. Text stays
// text and binary stays binary. Messages from one server arrive everywhere
// in the order it broadcast them, so one sender's messages keep their
// order; messages of different servers interleave in any order.
//
// Delivery is at most once, like NATS core: a server that is disconnected,
// or not yet subscribed, misses what is published meanwhile. For history
// or replay, keep it in a store (NATS JetStream, a database) and send it
// on join.
//
// # Subjects
//
// Subjects are per scope, under a prefix (Options.Subject, "ws.hub"):
//
//	ws.hub.all                    Hub.Broadcast
//	ws.hub.ns.<namespace>         Namespace.Broadcast
//	ws.hub.room.<namespace>.<room> Room.Broadcast
//	ws.hub.user.<user>            Hub.SendToUser
//	ws.hub.rooms.<namespace>      Namespace.BroadcastTo (rooms in headers)
//
// Names are escaped into subject tokens: letters, digits and '-' stay as
// they are, every other byte becomes '_' and two hex digits, and "" (the
// default namespace) becomes a lone '_'; room "chat room" of the default
// namespace is ws.hub.room._.chat_20room. Each hub subscribes to ws.hub.>.
// The headers Ws-Origin (the publisher's hub.Options.ServerID) and Ws-Type
// ("text" or "binary") go with the payload, which is the message's, as is;
// Namespace.BroadcastTo's rooms and excluded rooms go in Ws-Rooms and
// Ws-Except-Rooms, one value each, escaped as tokens are.
// Messages on these subjects without them are counted (Stats.Invalid) and
// dropped.
//
// # Outages
//
// nats.go reconnects by itself, every Options.ReconnectWait, for as long
// as the broker is open, and restores the subscription. Meanwhile:
//
//   - Local delivery goes on: each hub delivers to its own clients first,
//     and publishes from a bounded queue of its own
//     (hub.Options.BrokerQueueSize), so neither a down nor a slow broker
//     ever blocks a broadcast.
//   - Publications fail at once with ErrUnavailable (the default,
//     Options.OutageBuffer 0): other servers miss broadcasts made during
//     the outage rather than receive them late. With OutageBuffer > 0,
//     nats.go keeps up to that many bytes and sends them on reconnect.
//   - The outage shows in the logs and the counters: the broker logs the
//     disconnect at Warn and the reconnect at Info (with the outage's
//     length) and counts both in Stats; the hub logs the first failed
//     publication at Warn and the first successful one after it at Info,
//     and counts them in hub.Stats (BrokerFailed, BrokerOutages), which
//     its MetricsHandler serves.
//
// # Cost
//
// The broker adds a hop through the NATS server. On loopback (AMD EPYC, 2
// CPUs shared with other work, NATS server in the same process), with one
// 64-byte message in flight at a time from a client of one server to a
// client of the other, the medians of six 3-second runs were:
//
//	BenchmarkRoomBroadcastInProcess   25 µs/msg (23-31)  client → hub → client
//	BenchmarkRoomBroadcastViaNATS     51 µs/msg (47-71)  client → hub A → NATS → hub B → client
//
// so about 25 µs per message on loopback, plus, in a real cluster, the
// network's latency from a server to NATS and from NATS to the others.
// (The benchmark's allocations per message include the NATS server's,
// which runs in the benchmark's process.) Every broadcast costs one
// publication and, on each other server, one delivery from NATS, whether
// or not that server has members in the room. Run the benchmarks with:
//
//	cd natsbroker && go test -run '^$' -bench RoomBroadcast .
package natsbroker
