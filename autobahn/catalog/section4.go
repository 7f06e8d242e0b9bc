package catalog

import (
	"fmt"
	"time"
)

// section4 returns the cases of section 4: reserved opcodes, non-control
// (4.1: 3–7) and control (4.2: 11–15).
func section4() []Case {
	const hello = "Hello, world!"
	failNow := ExpectedClose{ClosedByMe: false, CloseCodes: []int{1002}}
	const afterEcho = "Echo for first message is received, but then connection is failed immediately, since reserved opcode frame is used. A Pong is not received."
	var out []Case
	for sub, group := range []struct {
		kind string
		base byte
	}{{"non-control", 3}, {"control", 11}} {
		prefix := fmt.Sprintf("4.%d.", sub+1)
		op := group.base
		// n: the reserved opcode alone, without payload.
		out = append(out, Case{
			ID:          prefix + "1",
			Description: fmt.Sprintf("Send frame with reserved %s <b>Opcode = %d</b>.", group.kind, op),
			Expectation: "The connection is failed immediately.",
			Run: func(s Session) {
				s.Expect(OK)
				s.ExpectClose(failNow)
				s.SendFrame(Frame(op, nil))
				s.KillAfter(time.Second)
			},
		})
		// n+1: alone, with payload.
		op2 := op + 1
		out = append(out, Case{
			ID:          prefix + "2",
			Description: fmt.Sprintf("Send frame with reserved %s <b>Opcode = %d</b> and non-empty payload.", group.kind, op2),
			Expectation: "The connection is failed immediately.",
			Run: func(s Session) {
				s.Expect(OK)
				s.ExpectClose(failNow)
				s.SendFrame(Frame(op2, []byte("reserved opcode payload")))
				s.KillAfter(time.Second)
			},
		})
		// n+2 … n+4: after a good text message and before a ping.
		for i, v := range []struct {
			withPayload bool
			chop        int
		}{{false, 0}, {true, 0}, {true, 1}} {
			opc := op + 2 + byte(i)
			desc := fmt.Sprintf("Send small text message, then send frame with reserved %s <b>Opcode = %d</b>", group.kind, opc)
			if v.withPayload {
				desc += " and non-empty payload"
			}
			desc += ", then send Ping."
			out = append(out, Case{
				ID:          fmt.Sprintf("%s%d", prefix, 3+i),
				Description: desc,
				Expectation: afterEcho,
				Run: func(s Session) {
					s.Expect(OK, Message([]byte(hello), false))
					s.Expect(NonStrict)
					s.ExpectClose(failNow)
					var bad []byte
					if v.withPayload {
						bad = []byte(hello)
					}
					s.SendFrame(FrameSpec{Opcode: 1, Payload: []byte(hello), Fin: true, Chop: v.chop})
					s.SendFrame(FrameSpec{Opcode: opc, Payload: bad, Fin: true, Chop: v.chop})
					s.SendFrame(FrameSpec{Opcode: 9, Fin: true, Chop: v.chop})
					s.KillAfter(time.Second)
				},
			})
		}
	}
	return out
}
