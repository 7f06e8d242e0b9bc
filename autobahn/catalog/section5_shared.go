package catalog

import "time"

// Helpers shared by sections 5, 6 and 7. Every name carries the s567
// prefix so that it cannot collide with the helpers of the other sections
// in this package.

// Opcodes as the fuzzing peer writes them (the catalog deliberately does
// not borrow the library's constants: it tests the library).
const (
	s567OpCont  byte = 0x0
	s567OpText  byte = 0x1
	s567OpClose byte = 0x8
	s567OpPing  byte = 0x9
	s567OpPong  byte = 0xA
)

// Close codes of RFC 6455 section 7.4.1 used by these sections.
const (
	s567CodeNormal        = 1000
	s567CodeProtocolError = 1002
	s567CodeInvalidData   = 1007
)

// Delays used by the suite in these sections.
const (
	s567Second     = time.Second
	s567HalfSecond = 500 * time.Millisecond
)

// s567Text is a text message event with the given payload.
func s567Text(payload string) Event { return Message([]byte(payload), false) }

// s567Pong is a pong event with the given payload.
func s567Pong(payload string) Event { return Pong([]byte(payload)) }

// s567Timeout is the ("timeout", tag) marker the UTF-8 fail-fast cases
// record when a step's delay passed with the connection still open.
func s567Timeout(tag string) Event { return Marker("timeout", tag) }

// s567Frame is a frame spec with explicit FIN and no further options.
func s567Frame(opcode byte, fin bool, payload string) FrameSpec {
	return FrameSpec{Opcode: opcode, Payload: []byte(payload), Fin: fin}
}

// s567Chopped is s567Frame written in chops of chop bytes.
func s567Chopped(opcode byte, fin bool, payload string, chop int) FrameSpec {
	f := s567Frame(opcode, fin, payload)
	f.Chop = chop
	return f
}

// s567Synced is s567Frame written with sync set.
func s567Synced(opcode byte, fin bool, payload string, sync bool) FrameSpec {
	f := s567Frame(opcode, fin, payload)
	f.Sync = sync
	return f
}

// s567ExpectMyCleanClose: the fuzzing peer closes with code (and accepts
// the others) and the close must be clean.
func s567ExpectMyCleanClose(s Session, codes ...int) {
	s.ExpectClose(ExpectedClose{ClosedByMe: true, CloseCodes: codes, RequireClean: true})
}

// s567ExpectMyClose: the fuzzing peer closes; a dropped TCP connection is
// acceptable (RequireClean false), the peer's code must be one of codes.
func s567ExpectMyClose(s Session, codes ...int) {
	s.ExpectClose(ExpectedClose{ClosedByMe: true, CloseCodes: codes, RequireClean: false})
}

// s567ExpectPeerFails: the peer under test must fail the connection, with
// one of codes if it sends a close frame at all.
func s567ExpectPeerFails(s Session, codes ...int) {
	s.ExpectClose(ExpectedClose{ClosedByMe: false, CloseCodes: codes, RequireClean: false})
}

// s567ExpectPeerFailsUTF8 is s567ExpectPeerFails(1007) for invalid UTF-8,
// with the suite's closedByWrongEndpointIsFatal: when the fuzzing peer
// has to end the connection, the peer under test did not notice the
// invalid text at all, so the behaviour verdict is FAILED too.
func s567ExpectPeerFailsUTF8(s Session) {
	s.ExpectClose(ExpectedClose{
		ClosedByMe:                   false,
		CloseCodes:                   []int{s567CodeInvalidData},
		RequireClean:                 false,
		ClosedByWrongEndpointIsFatal: true,
	})
}

// s567WrongCodeIsFailure is the override most close-handling cases make:
// a wrong close code from the peer fails the behaviour too, with the close
// result as the reason.
func s567WrongCodeIsFailure(s Session) {
	s.OnEnd(func(r *Result) {
		if r.BehaviorClose == WrongCode {
			r.Behavior = Failed
			r.Result = r.ResultClose
		}
	})
}

// s567Unimplemented ends a case the Session cannot express faithfully:
// both verdicts read UNIMPLEMENTED, with why, and the fuzzing peer closes
// normally so the run goes on.
func s567Unimplemented(s Session, why string) {
	s.SuppressClose()
	s.OnEnd(func(r *Result) {
		r.Behavior = Unimplemented
		r.BehaviorClose = Unimplemented
		r.Result = why
		r.ResultClose = why
	})
	s.SendClose(s567CodeNormal, "")
}
