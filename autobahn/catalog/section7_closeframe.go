package catalog

import "encoding/binary"

// s7CloseFrameSender is what several section 7 cases need beyond Session:
// the suite's sendCloseFrame, which writes a close frame with any payload
// at all (no code, a 1-octet payload, code 0, reserved codes, an
// over-long or invalid UTF-8 reason) and, unlike a raw SendFrame of opcode
// 8, starts the closing handshake as the fuzzing peer (closedByMe).
// Session.SendClose cannot express "no code but a reason" (7.3.2), code 0
// (7.9.1: code 0 means an empty payload there) or a reason longer than 123
// octets (7.3.6), so those cases use this method when the engine's session
// has it (the engine's session does; the tests assert it) and report
// UNIMPLEMENTED otherwise; the other cases fall back to SendClose.
type s7CloseFrameSender interface {
	// SendCloseFrame writes a close frame whose payload is exactly
	// payload, without validating it, and starts the closing handshake
	// (state closing, closed by the fuzzing peer, local close code and
	// reason remembered), unless a close frame was already sent or
	// received, in which case it does nothing.
	SendCloseFrame(payload []byte)
}

// s7ClosePayload is a close frame payload as the suite builds it: the
// code in network order when hasCode, then the reason octets.
func s7ClosePayload(hasCode bool, code int, reason string) []byte {
	var p []byte
	if hasCode {
		p = binary.BigEndian.AppendUint16(p, uint16(code))
	}
	return append(p, reason...)
}

// s7SendCloseFrame starts the closing handshake with exactly the payload
// s7ClosePayload gives, like the suite's sendCloseFrame. It returns false
// when the session cannot send that payload.
func s7SendCloseFrame(s Session, hasCode bool, code int, reason string) bool {
	if cs, ok := s.(s7CloseFrameSender); ok {
		cs.SendCloseFrame(s7ClosePayload(hasCode, code, reason))
		return true
	}
	switch {
	case !hasCode && reason == "":
		s.SendClose(0, "")
		return true
	case hasCode && code != 0 && len(reason) <= 123:
		// SendClose shortens a longer reason, so 7.3.6 cannot go this way.
		s.SendClose(code, reason)
		return true
	}
	return false
}
