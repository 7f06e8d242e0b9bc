package catalog

import (
	"bytes"
	"fmt"
	"time"
)

// echoCase is the shape of sections 1's cases: send one data frame, expect
// it echoed, then the fuzzer closes with 1000 and expects a clean close.
func echoCase(id string, opcode byte, payload []byte, chop int, kill time.Duration, desc, expect string) Case {
	return Case{
		ID:          id,
		Description: desc,
		Expectation: expect,
		Run: func(s Session) {
			s.Expect(OK, Message(payload, opcode == 2))
			s.ExpectClose(ExpectedClose{ClosedByMe: true, CloseCodes: []int{1000}, RequireClean: true})
			s.SendFrame(FrameSpec{Opcode: opcode, Payload: payload, Fin: true, Chop: chop})
			s.KillAfter(kill)
		},
	}
}

// section1 returns the cases of section 1: framing of text (1.1) and
// binary (1.2) messages across the payload length encodings.
func section1() []Case {
	type sz struct {
		n    int
		chop int
		kill time.Duration
	}
	sizes := []sz{
		{0, 0, time.Second}, {125, 0, time.Second}, {126, 0, time.Second}, {127, 0, time.Second},
		{128, 0, time.Second}, {65535, 0, 10 * time.Second}, {65536, 0, 10 * time.Second}, {65536, 997, 10 * time.Second},
	}
	var out []Case
	for sub, kind := range []struct {
		opcode byte
		fill   byte
		name   string
	}{{1, '*', "text"}, {2, 0xfe, "binary"}} {
		for i, z := range sizes {
			id := fmt.Sprintf("1.%d.%d", sub+1, i+1)
			payload := bytes.Repeat([]byte{kind.fill}, z.n)
			var desc, expect string
			switch {
			case z.n == 0:
				desc = fmt.Sprintf("Send %s message with payload 0.", kind.name)
				expect = fmt.Sprintf("Receive echo'ed %s message (with empty payload). Clean close with normal code.", kind.name)
			case z.chop > 0:
				desc = fmt.Sprintf("Send %s message message with payload of length %d. Sent out data in chops of %d octets.", kind.name, z.n, z.chop)
				expect = fmt.Sprintf("Receive echo'ed %s message (with payload as sent). Clean close with normal code.", kind.name)
			default:
				desc = fmt.Sprintf("Send %s message message with payload of length %d.", kind.name, z.n)
				expect = fmt.Sprintf("Receive echo'ed %s message (with payload as sent). Clean close with normal code.", kind.name)
			}
			out = append(out, echoCase(id, kind.opcode, payload, z.chop, z.kill, desc, expect))
		}
	}
	return out
}
