package catalog

// s6FrameStreamer is what cases 6.4.3 and 6.4.4 need beyond Session: the
// suite's streaming API (beginMessage, beginMessageFrame,
// sendMessageFrameData), which writes one frame's header first and its
// payload later in pieces, with pauses between them. Session has no way
// to do that; the engine's session implements these methods (the tests
// assert it), and a session without them makes the cases UNIMPLEMENTED
// rather than something they are not.
type s6FrameStreamer interface {
	// BeginFrame writes the header of a frame with the given opcode, FIN
	// bit and payload length. The payload follows in SendFrameData
	// calls; when the fuzzing peer masks (as a client) one masking key
	// covers the whole frame, the offset carrying over between calls.
	BeginFrame(opcode byte, fin bool, length int)
	// SendFrameData writes the next piece of the payload of the frame
	// begun by BeginFrame (nothing once the connection is not open).
	SendFrameData(data []byte)
}
