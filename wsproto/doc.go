// Package wsproto is the sans-I/O WebSocket protocol core (RFC 6455, with
// permessage-deflate, RFC 7692): bytes in, events out; messages and control
// frames in, bytes out. It starts no goroutine, takes no lock, does no I/O
// and reads no clock. It owns every rule of the protocol past the opening
// handshake, and the drivers around it only move bytes and keep time: the
// blocking, goroutine-per-connection ws.Conn and the event-loop server both
// drive it, and the fuzzers drive it directly.
//
// # Receiving
//
// A [Receiver] is fed the bytes that arrive, in chunks of any size, with
// [Receiver.Feed]. Each call reports at most one [Event] and how many input
// bytes it consumed; the driver calls it again with the rest. Feed unmasks
// payloads in place, in the driver's buffer, and checks them there: the
// frame rules (RSV bits and opcodes, masking, control frame size and
// fragmentation, RFC 6455 §5), the fragmentation sequence (§5.4), UTF-8
// fail-fast on text (§8.1), the read limit (checked on each frame header,
// before any of its payload arrives, §10.4), the close frame's payload
// (§5.5.1, §7.4) and the bits of permessage-deflate (RFC 7692 §6.1).
// [Receiver.FeedEvent] is the same call storing the event in the driver's
// own Event, for a hot loop that should not copy it from call to call.
//
// Data arrives as [Data] events, a message's payload chunk by chunk as it
// comes, each pointing into the input (zero copy), the first marked Start
// and the last Final; or, with [Config.Assemble], as one [Message] event per
// message. A driver that reads a large payload straight from the network
// into its destination asks [Receiver.DataRemaining] how much of the frame
// is left, reads it, and hands the bytes to [Receiver.Payload], which
// unmasks and checks them where they are.
//
// Compressed messages are inflated whole (RFC 7692 §7.2.2) with the read
// limit applied to the inflated size. By default the Receiver collects the
// compressed payload and reports the inflated message as one [Message]
// event. A blocking driver that does not want the compressed payload held
// whole sets [Config.PullInflate]: the compressed chunks then come as Data
// events marked Compressed, and the driver inflates the message with
// [Receiver.Inflate], which pulls the chunks through a function the driver
// writes with Feed.
//
// Pings, pongs and the peer's close frame come as [Ping], [Pong] and
// [Close] events, and a broken rule as one [Failed] event carrying the close
// code to send (1002, 1007 or 1009) and the rule. After Close or Failed the
// Receiver ignores its input.
//
// # Sending
//
// A [Sender] turns messages and control frames into bytes appended to a
// buffer of the driver's: [Sender.AppendMessage], [Sender.AppendFrame] for
// fragments, [Sender.AppendPing], [Sender.AppendClose]. It masks with fresh
// keys on the client (RFC 6455 §5.3), compresses what is long enough when
// permessage-deflate was negotiated, and refuses every frame once its close
// frame was produced (§5.5.1). The answers that received frames call for
// (a pong with the ping's payload, the echo of the peer's close, the close
// frame that fails the connection) come from [Sender.AppendReply] given the
// event. A driver that writes large payloads from the caller's slice (a
// vectored write) takes just the frame's header from [Sender.Header].
//
// # Drivers
//
// A Receiver and a Sender share no state, so a driver with one goroutine
// reading and others writing guards each with its own lock; a single-
// threaded driver (an event loop) uses [Conn], which holds both and says
// with [Conn.Await] what the connection waits for: frames, the peer's
// close, the peer's end of TCP, or nothing (close TCP now). Time is the
// driver's: the close timeout, idle timeouts and heartbeats.
package wsproto
