package catalog

import (
	"bytes"
	"fmt"
	"time"
)

// Section 10: miscellaneous. 10.1.1 checks that a message the fuzzing peer
// auto-fragments arrives whole at the peer under test and comes back, and
// that the fuzzing peer sent exactly the frames the fragment size implies.

// s10AutoFragmentSize is the fragment size 10.1.1 sends its message in.
const s10AutoFragmentSize = 1300

// s10PayloadSize is the length of 10.1.1's text message.
const s10PayloadSize = 65536

// section10 returns the cases of section 10.
func section10() []Case {
	return []Case{{
		ID: "10.1.1",
		Description: fmt.Sprintf("Send a text message with a payload of %d bytes, auto-fragmented by the fuzzing peer in frames of %d bytes.",
			s10PayloadSize, s10AutoFragmentSize),
		Expectation: "Receive the text message echoed back with the payload as sent, the fuzzing peer having sent the expected number of frames of each kind; then a clean close with 1000.",
		Run:         run10_1_1,
	}}
}

func run10_1_1(s Session) {
	payload := bytes.Repeat([]byte("*"), s10PayloadSize)
	s.SetAutoFragmentSize(s10AutoFragmentSize)
	s.Expect(OK, Message(payload, false))
	s.ExpectClose(ExpectedClose{ClosedByMe: true, CloseCodes: []int{1000}, RequireClean: true})
	s.OnEnd(func(r *Result) {
		if !r.ConnectionWasOpen {
			r.Behavior = Failed
			r.Result = "The WebSocket connection was never open."
			return
		}
		// The message goes out as ceil(65536/1300) = 51 frames: a text
		// frame that starts it and 50 continuations. (The original writes
		// this as 65536/1300 continuations plus one text frame for the
		// remainder, which gives the same counts for these sizes.)
		frames := (s10PayloadSize + s10AutoFragmentSize - 1) / s10AutoFragmentSize
		wantText, wantCont := 1, frames-1
		gotCont, gotText := s.TxFrames(0), s.TxFrames(1)
		if gotCont != wantCont || gotText != wantText {
			r.Behavior = Failed
			r.Result = fmt.Sprintf("Frames sent {continuation: %d, text: %d} differ from the expected {continuation: %d, text: %d}.",
				gotCont, gotText, wantCont, wantText)
		}
	})
	s.SendMessage(payload, false)
	s.KillAfter(10 * time.Second)
}
