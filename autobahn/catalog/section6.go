package catalog

import "fmt"

// Section 6: UTF-8 handling. Cases 6.1.1 to 6.4.4, then the generated
// cases 6.5.x to 6.23.x, one per test vector (see section6_vectors.go).

// s6Mixed is "Hello-µ@ßöäüàá-UTF-8!!" in UTF-8, split where 6.2.2 splits
// it, on a code point boundary.
const (
	s6Mixed1 = "Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4"
	s6Mixed2 = "\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!"
	s6Mixed  = s6Mixed1 + s6Mixed2
)

// The invalid message of 6.3.x: κόσμε, an encoded surrogate U+D800 (the
// octet 0xA0 at index 12 makes it invalid), "edited".
const s6Surrogate = s6Kosme + "\xed\xa0\x80" + "\x65\x64\x69\x74\x65\x64"

// The message of 6.4.x: κόσμε, F4 90 80 80 (the UTF-8 integer encoding
// of 0x110000, beyond Unicode; invalid at the octet 0x90 at index 12),
// "edited".
const (
	s6FF1 = s6Kosme
	s6FF2 = "\xf4\x90\x80\x80"
	s6FF3 = "\x65\x64\x69\x74\x65\x64"
	s6FF  = s6FF1 + s6FF2 + s6FF3
)

// section6 returns the cases of section 6.
func section6() []Case {
	cases := []Case{
		{
			ID:          "6.1.1",
			Description: "Send a text message with an empty payload.",
			Expectation: "The peer echoes an empty text message.",
			Run: func(s Session) {
				s6Echo(s, "", s567Frame(s567OpText, true, ""))
			},
		},
		{
			ID:          "6.1.2",
			Description: "Send a text message in 3 fragments, all empty.",
			Expectation: "The peer echoes an empty text message.",
			Run: func(s Session) {
				s6Echo(s, "",
					s567Frame(s567OpText, false, ""),
					s567Frame(s567OpCont, false, ""),
					s567Frame(s567OpCont, true, ""))
			},
		},
		{
			ID:          "6.1.3",
			Description: "Send a text message in 3 fragments: empty, non-empty, empty.",
			Expectation: "The peer echoes the middle fragment's payload as the message.",
			Run: func(s Session) {
				s6Echo(s, "middle frame payload",
					s567Frame(s567OpText, false, ""),
					s567Frame(s567OpCont, false, "middle frame payload"),
					s567Frame(s567OpCont, true, ""))
			},
		},
		{
			ID:          "6.2.1",
			Description: "Send valid UTF-8 text in one frame. Payload: 0x" + s6Hex(s6Mixed),
			Expectation: "The peer echoes the message.",
			Run: func(s Session) {
				s.Expect(OK, s567Text(s6Mixed))
				s567ExpectMyCleanClose(s, s567CodeNormal)
				s.SendMessage([]byte(s6Mixed), false)
				s.CloseAfter(s567Second)
			},
		},
		{
			ID: "6.2.2",
			Description: "Send valid UTF-8 text in 2 fragments split on a code point boundary. " +
				"Fragment 1: 0x" + s6Hex(s6Mixed1) + ", fragment 2: 0x" + s6Hex(s6Mixed2),
			Expectation: "The peer echoes the message.",
			Run: func(s Session) {
				s6Echo(s, s6Mixed,
					s567Frame(s567OpText, false, s6Mixed1),
					s567Frame(s567OpCont, true, s6Mixed2))
			},
		},
		{
			ID: "6.2.3",
			Description: "Send valid UTF-8 text in fragments of 1 octet, so frames end inside code points. " +
				"Payload: 0x" + s6Hex(s6Mixed),
			Expectation: "The peer echoes the message.",
			Run: func(s Session) {
				s.Expect(OK, s567Text(s6Mixed))
				s567ExpectMyCleanClose(s, s567CodeNormal)
				s.SendMessageFragmented([]byte(s6Mixed), false, 1, false)
				s.CloseAfter(s567Second)
			},
		},
		{
			ID: "6.2.4",
			Description: "Send valid UTF-8 text (κόσμε) in fragments of 1 octet, so frames end inside code points. " +
				"Payload: 0x" + s6Hex(s6Kosme),
			Expectation: "The peer echoes the message.",
			Run: func(s Session) {
				s.Expect(OK, s567Text(s6Kosme))
				s567ExpectMyCleanClose(s, s567CodeNormal)
				s.SendMessageFragmented([]byte(s6Kosme), false, 1, false)
				s.CloseAfter(s567Second)
			},
		},
		{
			ID:          "6.3.1",
			Description: "Send invalid UTF-8 text in one frame. Payload: 0x" + s6Hex(s6Surrogate),
			Expectation: "The peer fails the connection at once (1007): the payload is not valid UTF-8.",
			Run: func(s Session) {
				s6ExpectRejected(s)
				s.SendMessage([]byte(s6Surrogate), false)
				s.KillAfter(s567Second)
			},
		},
		{
			ID: "6.3.2",
			Description: "Send invalid UTF-8 text in fragments of 1 octet, so frames end inside code points. " +
				"Payload: 0x" + s6Hex(s6Surrogate),
			Expectation: "The peer fails the connection at once (1007): the payload is not valid UTF-8.",
			Run: func(s Session) {
				s6ExpectRejected(s)
				s.SendMessageFragmented([]byte(s6Surrogate), false, 1, false)
				s.KillAfter(s567Second)
			},
		},
		s6FailFastFrames("6.4.1", s6FF[:11], s6FF[11:15], s6FF[15:],
			"Send invalid UTF-8 text in 3 frames with 1 s pauses between them. "+
				"Parts 1 and 3 are valid on their own; part 2 is 0x110000 in UTF-8's integer "+
				"encoding, a code point out of range."),
		s6FailFastFrames("6.4.2", s6FF[:12], s6FF[12:13], s6FF[13:],
			"As 6.4.1, but the 2nd frame ends with the octet that makes the payload invalid."),
		s6FailFastChops("6.4.3", s6FF[:11], s6FF[11:15], s6FF[15:],
			"As 6.4.1, but the 3 parts are chops of one frame's payload, not 3 frames."),
		s6FailFastChops("6.4.4", s6FF[:12], s6FF[12:13], s6FF[13:],
			"As 6.4.2, but the 3 parts are chops of one frame's payload, not 3 frames."),
	}
	for gi, g := range s6Groups() {
		for vi, v := range g.vectors {
			cases = append(cases, s6VectorCase(fmt.Sprintf("6.%d.%d", gi+5, vi+1), v))
		}
	}
	return cases
}

// s6Hex is the payload in lower-case hex, as the suite shows it.
func s6Hex(p string) string { return fmt.Sprintf("%x", p) }

// s6Echo sends frames making up a text message and expects the echo of
// want; the fuzzing peer closes normally after a second.
func s6Echo(s Session, want string, frames ...FrameSpec) {
	s.Expect(OK, s567Text(want))
	s567ExpectMyCleanClose(s, s567CodeNormal)
	for _, f := range frames {
		s.SendFrame(f)
	}
	s.CloseAfter(s567Second)
}

// s6ExpectRejected: nothing may be received, the peer must fail the
// connection with 1007 if it sends a code, and the fuzzing peer ending it
// instead means the invalid UTF-8 went unnoticed (behaviour FAILED).
func s6ExpectRejected(s Session) {
	s.Expect(OK)
	s567ExpectPeerFailsUTF8(s)
}

// s6ExpectFailFast sets the expectations of 6.4.x: the first pause must
// pass with the connection open; if the second one passes too the peer
// did not fail fast (NON-STRICT); either way the peer must fail the
// connection with 1007.
func s6ExpectFailFast(s Session) {
	s.Expect(OK, s567Timeout("A"))
	s.Expect(NonStrict, s567Timeout("A"), s567Timeout("B"))
	s567ExpectPeerFailsUTF8(s)
}

const s6FailFastExpectation = "The first part is accepted (the first pause passes). The peer fails the " +
	"connection (1007) as soon as it has the part that makes the payload invalid; failing only " +
	"after the second pause is NON-STRICT."

// s6FailFastFrames is 6.4.1 and 6.4.2: three frames of one text message,
// one second apart.
func s6FailFastFrames(id, p1, p2, p3, desc string) Case {
	return Case{
		ID: id,
		Description: desc + " Part 1: 0x" + s6Hex(p1) + ", part 2: 0x" + s6Hex(p2) +
			", part 3: 0x" + s6Hex(p3),
		Expectation: s6FailFastExpectation,
		Run: func(s Session) {
			s6ExpectFailFast(s)
			s.SendFrame(s567Frame(s567OpText, false, p1))
			s.ContinueLater(s567Second, "A", func() {
				if !s.IsOpen() {
					return
				}
				s.Record(s567Timeout("A"))
				s.SendFrame(s567Frame(s567OpCont, false, p2))
				s.ContinueLater(s567Second, "B", func() {
					if !s.IsOpen() {
						return
					}
					s.Record(s567Timeout("B"))
					s.SendFrame(s567Frame(s567OpCont, true, p3))
					s.KillAfter(s567Second)
				})
			})
		},
	}
}

// s6FailFastChops is 6.4.3 and 6.4.4: one text frame (FIN clear, as the
// suite's streaming API writes it) whose payload goes out in three chops
// one second apart, then an empty final continuation frame.
func s6FailFastChops(id, p1, p2, p3, desc string) Case {
	return Case{
		ID: id,
		Description: desc + " Part 1: 0x" + s6Hex(p1) + ", part 2: 0x" + s6Hex(p2) +
			", part 3: 0x" + s6Hex(p3),
		Expectation: s6FailFastExpectation,
		Run: func(s Session) {
			st, ok := s.(s6FrameStreamer)
			if !ok {
				s.Expect(OK)
				s567ExpectMyCleanClose(s, s567CodeNormal)
				s567Unimplemented(s, "the session cannot write one frame's payload in pieces over time (BeginFrame/SendFrameData)")
				return
			}
			s6ExpectFailFast(s)
			st.BeginFrame(s567OpText, false, len(p1)+len(p2)+len(p3))
			st.SendFrameData([]byte(p1))
			s.ContinueLater(s567Second, "A", func() {
				if !s.IsOpen() {
					return
				}
				s.Record(s567Timeout("A"))
				st.SendFrameData([]byte(p2))
				s.ContinueLater(s567Second, "B", func() {
					if !s.IsOpen() {
						return
					}
					s.Record(s567Timeout("B"))
					st.SendFrameData([]byte(p3))
					s.SendFrame(s567Frame(s567OpCont, true, ""))
					s.KillAfter(s567Second)
				})
			})
		},
	}
}

// s6VectorCase is one generated case 6.N.M: the vector as one text frame;
// echoed if valid, the connection failed with 1007 if not. The fuzzing
// peer drops the connection after half a second either way.
func s6VectorCase(id string, v s6Vector) Case {
	c := Case{ID: id}
	if v.valid {
		c.Description = "Send a text message whose payload is valid UTF-8, in one frame. Payload: 0x" + s6Hex(v.payload)
		c.Expectation = "The peer echoes the message."
	} else {
		c.Description = "Send a text message whose payload is not valid UTF-8, in one frame. Payload: 0x" + s6Hex(v.payload)
		c.Expectation = "The peer fails the connection at once (1007): the payload is not valid UTF-8."
	}
	c.Run = func(s Session) {
		if v.valid {
			s.Expect(OK, s567Text(v.payload))
			s567ExpectMyCleanClose(s, s567CodeNormal)
		} else {
			s6ExpectRejected(s)
		}
		s.SendMessage([]byte(v.payload), false)
		s.KillAfter(s567HalfSecond)
	}
	return c
}
