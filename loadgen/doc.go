// Package loadgen generates load on a WebSocket echo server and measures it:
// many connections, each doing round trips (write a message, read the echo,
// check it) for a bounded time or number of messages, with throughput,
// latency percentiles and a summary of errors at the end.
//
//	res, err := loadgen.Run(ctx, loadgen.Config{
//		URL:         "ws://127.0.0.1:8080/",
//		Connections: 1000,
//		Size:        1024,
//		Duration:    10 * time.Second,
//	})
//	if err != nil {
//		return err // no connection could be opened
//	}
//	res.WriteText(os.Stdout)
//
// The ws command's "ws load" is a front end for Run; the benchmark module
// drives it directly.
//
// # What is measured
//
// Run first dials every connection (Config.DialConcurrency at a time), then
// starts the clock. Each connection writes a message and reads it back, one
// round trip after another, as fast as the server answers or, with
// Config.Rate, on a fixed schedule. Latency is the time of a round trip; with
// a rate, it counts from when the message was due, so that a stalled server
// shows in every message that waited behind the stall. Throughput is round
// trips per second, and payload bytes per second in each direction.
//
// # Memory
//
// Latencies go into a Histogram: log-linear buckets in the manner of an HDR
// histogram, 29 KiB each, within 1.6 % of every value, whatever the number of
// messages. Run keeps a few of them, sharded by connection, and merges them at
// the end. Each connection holds its read buffer, Config.Size bytes.
//
// # Errors
//
// A connection whose round trip fails (an I/O error, a close from the server,
// a reply that differs from the message, or no reply within Config.Timeout)
// is counted under a kind of error that leaves out addresses ("read:
// connection reset by peer"), closed, and dialed again after a short pause
// while the run lasts. Result.Errors lists the kinds, most frequent first.
package loadgen
