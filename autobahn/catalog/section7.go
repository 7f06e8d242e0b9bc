package catalog

import (
	"fmt"
	"strings"
)

// Section 7: close handling, all started by the fuzzing peer. Cases
// 7.1.x (basic behaviour), 7.3.x (close payload length), 7.5.1 (close
// reason value), 7.7.x (valid codes), 7.9.x (invalid codes) and 7.13.x
// (codes the spec leaves undefined).

// s7ValidCodes are the codes of 7.7.1 to 7.7.13, in order.
var s7ValidCodes = []int{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999}

// s7InvalidCodes are the codes of 7.9.1 to 7.9.9, in order (the suite
// dropped 1014 and 1015 from this list once IANA registered them).
var s7InvalidCodes = []int{0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999}

// s7InvalidReason is κόσμε, an encoded surrogate U+D800, "edited": not
// valid UTF-8 (the same octets as 6.3.1).
const s7InvalidReason = "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80\x65\x64\x69\x74\x65\x64"

// section7 returns the cases of section 7.
func section7() []Case {
	cases := []Case{
		{
			ID:          "7.1.1",
			Description: "Send a text message; close once it is echoed.",
			Expectation: "The peer echoes the message, then the close is clean with the normal code.",
			Run: func(s Session) {
				s.Expect(OK, s567Text("Hello World!"))
				s567ExpectMyCleanClose(s, s567CodeNormal)
				s567WrongCodeIsFailure(s)
				s.SendFrame(s567Frame(s567OpText, true, "Hello World!"))
				s.KillAfter(s567Second)
			},
		},
		{
			ID:          "7.1.2",
			Description: "Send two close frames in a row.",
			Expectation: "Clean close with the normal code; the peer ignores the second close frame.",
			Run: func(s Session) {
				s7AfterClose(s, func() {
					s.SendFrame(s567Frame(s567OpClose, true, ""))
				})
			},
		},
		{
			ID:          "7.1.3",
			Description: "Send a ping right after a close frame.",
			Expectation: "Clean close with the normal code; no pong comes back.",
			Run: func(s Session) {
				s7AfterClose(s, func() {
					s.SendFrame(s567Frame(s567OpPing, true, ""))
				})
			},
		},
		{
			ID:          "7.1.4",
			Description: "Send a text message right after a close frame.",
			Expectation: "Clean close with the normal code; the peer ignores the message.",
			Run: func(s Session) {
				s7AfterClose(s, func() {
					s.SendFrame(s567Frame(s567OpText, true, "Hello World!"))
				})
			},
		},
		{
			ID:          "7.1.5",
			Description: "Send the first fragment of a text message, a close frame, then the last fragment.",
			Expectation: "Clean close with the normal code.",
			Run: func(s Session) {
				s.SuppressClose()
				s.Expect(OK)
				s567ExpectMyCleanClose(s, s567CodeNormal)
				s567WrongCodeIsFailure(s)
				s.SendFrame(s567Frame(s567OpText, false, "fragment1"))
				s.SendClose(s567CodeNormal, "")
				s.SendFrame(s567Frame(s567OpCont, true, "fragment2"))
				s.KillAfter(s567Second)
			},
		},
		{
			ID: "7.1.6",
			Description: "Send a 256 KiB text message, a short text message, a close frame and a ping, " +
				"back to back.",
			Expectation: "Depends on how the peer orders closing against its pending writes: it may " +
				"echo the messages before the close, or process the close first and echo " +
				"nothing or only part. Informational.",
			Run: func(s Session) {
				s.SuppressClose()
				s.Expect(OK, s567Text("Hello World!"))
				s.Expect(NonStrict)
				s567ExpectMyCleanClose(s, s567CodeNormal)
				s.OnEnd(func(r *Result) {
					switch r.Behavior {
					case OK:
						r.Result = "The text message was processed before the close."
					case NonStrict:
						r.Result = "The close was processed before the text message could be echoed."
					}
					r.Behavior = Informational
					r.BehaviorClose = Informational
				})
				s.SendFrame(FrameSpec{
					Opcode:     s567OpText,
					Payload:    []byte("BAsd7&jh23"),
					Fin:        true,
					PayloadLen: 256 << 10,
				})
				s.SendFrame(s567Frame(s567OpText, true, "Hello World!"))
				s.SendClose(s567CodeNormal, "")
				s.SendFrame(s567Frame(s567OpPing, true, ""))
				s.KillAfter(s567Second)
			},
		},

		s7CloseCase("7.3.1", "Send a close frame with an empty payload (no code, no reason).",
			"Clean close with the normal code.",
			true, []int{s567CodeNormal}, false, 0, ""),
		s7CloseCase("7.3.2", "Send a close frame with a 1-octet payload.",
			"The peer closes with a protocol error (1002) or drops TCP.",
			false, []int{s567CodeProtocolError}, false, 0, "a"),
		{
			ID:          "7.3.3",
			Description: "Send a close frame with a 2-octet payload: the normal code, no reason.",
			Expectation: "Clean close with the normal code.",
			Run: func(s Session) {
				s7ValidClose(s, "")
			},
		},
		{
			ID:          "7.3.4",
			Description: "Send a close frame with the normal code and a reason.",
			Expectation: "Clean close with the normal code.",
			Run: func(s Session) {
				s7ValidClose(s, "Hello World!")
			},
		},
		{
			ID:          "7.3.5",
			Description: "Send a close frame with the normal code and a reason of the maximum length, 123 octets.",
			Expectation: "Clean close with the normal code.",
			Run: func(s Session) {
				s7ValidClose(s, strings.Repeat("*", 123))
			},
		},
		s7CloseCase("7.3.6", "Send a close frame with the normal code and a 124-octet reason: "+
			"a 126-octet payload, longer than a control frame may be.",
			"The peer closes with a protocol error (1002) or drops TCP.",
			false, []int{s567CodeProtocolError}, true, s567CodeNormal, strings.Repeat("*", 124)),

		s7CloseCase("7.5.1", "Send a close frame with the normal code and a reason that is not valid UTF-8 "+
			"(0x"+s6Hex(s7InvalidReason)+").",
			"The peer closes with a protocol error (1002) or invalid data (1007), or drops TCP.",
			false, []int{s567CodeProtocolError, s567CodeInvalidData}, true, s567CodeNormal, s7InvalidReason),
	}

	for i, code := range s7ValidCodes {
		cases = append(cases, s7CloseCase(fmt.Sprintf("7.7.%d", i+1),
			fmt.Sprintf("Send a close frame with the valid code %d.", code),
			"Clean close with the normal code or the code echoed.",
			true, []int{s567CodeNormal, code}, true, code, ""))
	}
	for i, code := range s7InvalidCodes {
		cases = append(cases, s7CloseCase(fmt.Sprintf("7.9.%d", i+1),
			fmt.Sprintf("Send a close frame with the invalid code %d.", code),
			"The peer closes with a protocol error (1002) or drops TCP.",
			false, []int{s567CodeProtocolError}, true, code, ""))
	}
	for i, code := range []int{5000, 65535} {
		cases = append(cases, s7Undefined(fmt.Sprintf("7.13.%d", i+1), code))
	}
	return cases
}

// s7AfterClose is 7.1.2 to 7.1.4: start the closing handshake with the
// normal code, then send one more frame (after), which the peer must
// ignore; the close must be clean with the normal code.
func s7AfterClose(s Session, after func()) {
	s.SuppressClose()
	s.Expect(OK)
	s567ExpectMyCleanClose(s, s567CodeNormal)
	s567WrongCodeIsFailure(s)
	s.SendClose(s567CodeNormal, "")
	after()
	s.KillAfter(s567Second)
}

// s7ValidClose is 7.3.3 to 7.3.5: a valid close with the normal code and
// reason, to be answered cleanly with the normal code.
func s7ValidClose(s Session, reason string) {
	s.SuppressClose()
	s.Expect(OK)
	s567ExpectMyCleanClose(s, s567CodeNormal)
	s567WrongCodeIsFailure(s)
	s.SendClose(s567CodeNormal, reason)
	s.KillAfter(s567Second)
}

// s7CloseCase is a case that sends one close frame with the given payload
// (code when hasCode, then reason) and expects nothing but a close with
// one of codes, clean when clean; a wrong code fails the behaviour too.
func s7CloseCase(id, desc, exp string, clean bool, codes []int, hasCode bool, code int, reason string) Case {
	return Case{
		ID:          id,
		Description: desc,
		Expectation: exp,
		Run: func(s Session) {
			s.SuppressClose()
			s.Expect(OK)
			s.ExpectClose(ExpectedClose{ClosedByMe: true, CloseCodes: codes, RequireClean: clean})
			if !s7SendCloseFrame(s, hasCode, code, reason) {
				s567Unimplemented(s, fmt.Sprintf("the session cannot send a close frame with payload 0x%x (SendCloseFrame)",
					s7ClosePayload(hasCode, code, reason)))
				return
			}
			s567WrongCodeIsFailure(s)
			s.KillAfter(s567Second)
		},
	}
}

// s7Undefined is 7.13.x: a close code the spec does not define; the
// outcome is informational whatever happens.
func s7Undefined(id string, code int) Case {
	return Case{
		ID:          id,
		Description: fmt.Sprintf("Send a close frame with the code %d.", code),
		Expectation: "The spec does not define what happens. Informational.",
		Run: func(s Session) {
			s.SuppressClose()
			s.Expect(OK)
			s567ExpectMyClose(s, s567CodeNormal, code, s567CodeProtocolError)
			if !s7SendCloseFrame(s, true, code, "") {
				s567Unimplemented(s, "the session cannot send this close code")
				return
			}
			s.OnEnd(func(r *Result) {
				r.Behavior = Informational
				r.BehaviorClose = Informational
				r.Result = "The spec does not define what happens here."
			})
			s.KillAfter(s567Second)
		},
	}
}
