package catalog

import (
	"bytes"
	"fmt"
	"time"
)

// Section 9: limits and performance. Every case sends large or many
// messages, waits for the echo and judges it by type and length alone (as
// the original does: the content is not compared), with a generous timeout
// after which the fuzzing peer closes and the case stays FAILED. The
// behaviour verdict is set by the case itself, not by comparing events, and
// the report shows each case's duration.

// Sizes used by section 9.
const (
	s9KiB = 1 << 10
	s9MiB = 1 << 20
)

// Payload patterns the original repeats to the wanted length.
var (
	s9TextPattern   = []byte("BAsd7&jh23")
	s9BinaryPattern = []byte{0x00, 0xfe, 0x23, 0xfa, 0xf0}
)

// s9Send says how a section 9 case puts its one message on the wire.
type s9Send int

const (
	s9OneFrame   s9Send = iota // one frame, one write
	s9Fragmented               // fragments of fragSize bytes
	s9Chopped                  // one frame, written in chunks of chop bytes
)

// s9Big describes one case of 9.1 to 9.6: a single message echoed back.
type s9Big struct {
	id       string
	binary   bool
	size     int // message payload length
	pattern  []byte
	send     s9Send
	fragSize int // for s9Fragmented
	chop     int // for s9Chopped
	wait     time.Duration
}

// s9Sizes names a byte count the way the descriptions do (64k, 4M).
func s9Sizes(n int) string {
	switch {
	case n >= s9MiB && n%s9MiB == 0:
		return fmt.Sprintf("%dM", n/s9MiB)
	case n >= s9KiB && n%s9KiB == 0:
		return fmt.Sprintf("%dk", n/s9KiB)
	}
	return fmt.Sprint(n)
}

func s9Kind(binary bool) string {
	if binary {
		return "binary"
	}
	return "text"
}

// opcode returns the data opcode of the case's message.
func (b s9Big) opcode() byte {
	if b.binary {
		return 2
	}
	return 1
}

func (b s9Big) toCase() Case {
	kind := s9Kind(b.binary)
	desc := fmt.Sprintf("Send a %s message with a payload of %d bytes (%s)", kind, b.size, s9Sizes(b.size))
	switch b.send {
	case s9Fragmented:
		desc += fmt.Sprintf(", in fragments of %s bytes", s9Sizes(b.fragSize))
	case s9Chopped:
		desc += fmt.Sprintf(", as one frame written to the socket in chunks of %d octets", b.chop)
	}
	desc += "."
	return Case{
		ID:          b.id,
		Description: desc,
		Expectation: fmt.Sprintf("Receive the %s message echoed back with the payload as sent, within %d seconds; then a clean close with 1000.", kind, int(b.wait/time.Second)),
		Run:         b.run,
	}
}

func (b s9Big) run(s Session) {
	s.SetReportTime()
	s.SetWirelog(false)
	s.ExpectClose(ExpectedClose{ClosedByMe: true, CloseCodes: []int{1000}, RequireClean: true})
	behavior := Failed
	result := fmt.Sprintf("Did not receive the message within %d seconds.", int(b.wait/time.Second))
	kind := s9Kind(b.binary)

	s.OnMessage(func(payload []byte, binary bool) {
		switch {
		case binary != b.binary:
			result = fmt.Sprintf("Expected a %s message, but got a %s one.", kind, s9Kind(binary))
		case len(payload) != b.size:
			result = fmt.Sprintf("Expected a %s message with a payload of %d bytes, but got %d.", kind, b.size, len(payload))
		default:
			behavior = OK
			result = fmt.Sprintf("Received a %s message of %d bytes.", kind, len(payload))
		}
		s.SetWirelog(true)
		s.SendClose(1000, "")
	})
	s.OnEnd(func(r *Result) {
		r.Behavior = behavior
		r.Result = result
	})

	switch b.send {
	case s9OneFrame:
		s.SendFrame(FrameSpec{Opcode: b.opcode(), Payload: b.pattern, PayloadLen: b.size, Fin: true})
	case s9Chopped:
		s.SendFrame(FrameSpec{Opcode: b.opcode(), Payload: b.pattern, PayloadLen: b.size, Fin: true, Chop: b.chop})
	case s9Fragmented:
		s.SendMessageFragmented(s9Repeat(b.pattern, b.size), b.binary, b.fragSize, false)
	}
	s.CloseAfter(b.wait)
}

// s9Repeat repeats pattern to exactly n bytes.
func s9Repeat(pattern []byte, n int) []byte {
	if n == 0 || len(pattern) == 0 {
		return []byte{}
	}
	p := bytes.Repeat(pattern, (n+len(pattern)-1)/len(pattern))
	return p[:n]
}

// s9RoundTrip describes one case of 9.7 and 9.8: count messages sent one at
// a time, each after the echo of the one before.
type s9RoundTrip struct {
	id     string
	binary bool
	size   int
	count  int
	wait   time.Duration
}

func (t s9RoundTrip) toCase() Case {
	kind := s9Kind(t.binary)
	return Case{
		ID:          t.id,
		Description: fmt.Sprintf("Send %d %s messages with a payload of %d bytes, one at a time, each after the echo of the one before, to measure the round-trip time.", t.count, kind, t.size),
		Expectation: fmt.Sprintf("Receive every %s message echoed back with the payload as sent; the case times out after %d seconds.", kind, int(t.wait/time.Second)),
		Run:         t.run,
	}
}

func (t s9RoundTrip) run(s Session) {
	s.SetReportTime()
	s.SetWirelog(false)
	s.ExpectClose(ExpectedClose{ClosedByMe: true, CloseCodes: []int{1000}, RequireClean: true})
	behavior := Failed
	result := fmt.Sprintf("The case did not finish within %d seconds.", int(t.wait/time.Second))

	// An empty payload is sent as such: a pattern repeated to length 0.
	var payload []byte
	opcode := byte(1)
	if t.binary {
		opcode = 2
		payload = s9Repeat([]byte{0xfe}, t.size)
	} else {
		payload = s9Repeat([]byte("*"), t.size)
	}
	sent := 0
	sendOne := func() {
		s.SendFrame(FrameSpec{Opcode: opcode, Payload: payload, Fin: true})
		sent++
	}

	s.OnMessage(func(msg []byte, binary bool) {
		switch {
		case binary != t.binary || len(msg) != t.size:
			behavior = Failed
			result = fmt.Sprintf("An echoed message differs in type or length from what was sent (binary %t, %d bytes).", binary, len(msg))
			s.SetWirelog(true)
			s.SendClose(1000, "")
		case sent < t.count:
			sendOne()
		default:
			behavior = OK
			result = "Received every echoed message in time."
			s.SetWirelog(true)
			s.SendClose(1000, "")
		}
	})
	s.OnEnd(func(r *Result) {
		r.Behavior = behavior
		r.Result = result
	})

	s.CloseAfter(t.wait)
	sendOne()
}

// section9 returns the cases of section 9.
func section9() []Case {
	var cases []Case
	sizes := []int{64 * s9KiB, 256 * s9KiB, 1 * s9MiB, 4 * s9MiB, 8 * s9MiB, 16 * s9MiB}
	// The original's timeouts differ between 9.1 and 9.2 for 1M and 4M.
	textWait := []int{10, 10, 100, 100, 100, 100}
	binaryWait := []int{10, 10, 10, 10, 100, 100}
	for i, n := range sizes {
		cases = append(cases, s9Big{id: fmt.Sprintf("9.1.%d", i+1), size: n, pattern: s9TextPattern,
			send: s9OneFrame, wait: time.Duration(textWait[i]) * time.Second}.toCase())
	}
	for i, n := range sizes {
		cases = append(cases, s9Big{id: fmt.Sprintf("9.2.%d", i+1), binary: true, size: n, pattern: s9BinaryPattern,
			send: s9OneFrame, wait: time.Duration(binaryWait[i]) * time.Second}.toCase())
	}
	frags := []int{64, 256, 1 * s9KiB, 4 * s9KiB, 16 * s9KiB, 64 * s9KiB, 256 * s9KiB, 1 * s9MiB, 4 * s9MiB}
	for i, f := range frags {
		cases = append(cases, s9Big{id: fmt.Sprintf("9.3.%d", i+1), size: 4 * s9MiB, pattern: []byte("*"),
			send: s9Fragmented, fragSize: f, wait: 100 * time.Second}.toCase())
	}
	for i, f := range frags {
		// 9.4.1 repeats 0xfe, the others '*'; only the length is judged.
		pattern := []byte("*")
		if i == 0 {
			pattern = []byte{0xfe}
		}
		cases = append(cases, s9Big{id: fmt.Sprintf("9.4.%d", i+1), binary: true, size: 4 * s9MiB, pattern: pattern,
			send: s9Fragmented, fragSize: f, wait: 100 * time.Second}.toCase())
	}
	chops := []int{64, 128, 256, 512, 1024, 2048}
	for i, c := range chops {
		cases = append(cases, s9Big{id: fmt.Sprintf("9.5.%d", i+1), size: 1 * s9MiB, pattern: s9TextPattern,
			send: s9Chopped, chop: c, wait: 1000 * time.Second}.toCase())
	}
	for i, c := range chops {
		cases = append(cases, s9Big{id: fmt.Sprintf("9.6.%d", i+1), binary: true, size: 1 * s9MiB, pattern: s9BinaryPattern,
			send: s9Chopped, chop: c, wait: 1000 * time.Second}.toCase())
	}
	// (payload size, message count, timeout in seconds)
	roundTrips := []struct{ size, count, wait int }{
		{0, 1000, 60}, {16, 1000, 60}, {64, 1000, 60},
		{256, 1000, 120}, {1024, 1000, 240}, {4096, 1000, 480},
	}
	for _, binary := range []bool{false, true} {
		sub := "9.7"
		if binary {
			sub = "9.8"
		}
		for i, rt := range roundTrips {
			cases = append(cases, s9RoundTrip{id: fmt.Sprintf("%s.%d", sub, i+1), binary: binary, size: rt.size,
				count: rt.count, wait: time.Duration(rt.wait) * time.Second}.toCase())
		}
	}
	return cases
}
