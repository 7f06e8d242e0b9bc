// Package grow holds the rule by which the buffer of a message being
// received grows, shared by the Conn (messages read from the network) and
// package deflate (messages inflated).
//
// A buffer that doubles each time it fills costs up to twice the size of the
// message at its peak, counting the old buffer that the last growth copies
// from and the smaller ones before it, whose memory the process keeps until
// the garbage collector and the scavenger give it back. For a message that
// reaches the read limit (a decompression bomb cut at the limit, or a peer
// that sends as much as it may) that is twice the limit. Here a buffer
// doubles while it is small, then grows up to eightfold at a time, in steps
// planned back from the largest size the message can reach (the end of its
// last frame, or the read limit), so that the last growth starts from at
// most an eighth of the final size: reading a message that reaches that
// size costs at most about 1.15 times it, and twice Small. Memory still
// follows what arrives, not what a header announces: a buffer is never made
// more than eight times what it already holds.
package grow

// Small is the size up to which buffers double.
const Small = 512 << 10

// Min is the least capacity a buffer is grown to.
const Min = 512

// Cap returns the capacity, counted from the message's start, to grow a
// message buffer to. n bytes of the message are in the buffer, which is
// full; need more must fit; most is how much more the message can grow at
// most (the rest of its last frame, or what the read limit leaves), or
// negative if that is not known.
func Cap(n, need, most int64) int64 {
	if n < Small {
		c := max(2*n, n+need, Min)
		if most >= 0 {
			c = min(c, n+most)
		}
		return max(c, n+need)
	}
	c := 8 * n
	if most >= 0 {
		// The largest of f, f/8, f/64... (rounded up, so that each is
		// an eighth of the next) that is at most 8n: the steps land
		// on f.
		for c = n + most; c > 8*n; c = (c + 7) / 8 {
		}
	}
	return max(c, n+need)
}

// Trimmed reports whether a message of n bytes in a buffer it grew to
// capacity c should be copied into one of its own size before it is handed
// to the application: the eightfold growth can leave up to eight times the
// message, which an application that keeps messages would hold.
func Trimmed(n, c int64) bool {
	return c-n > Small && c > 2*n
}
