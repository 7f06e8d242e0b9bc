package catalog

import (
	"bytes"
	"fmt"
	"time"
)

// pingCase sends one ping and expects its pong; the fuzzer closes with
// 1000 once the pong came, or after wait at the latest.
func pingCase(id string, payload []byte, chop int, wait time.Duration, desc, expect string) Case {
	return Case{
		ID: id, Description: desc, Expectation: expect,
		Run: func(s Session) {
			s.Expect(OK, Pong(payload))
			s.ExpectClose(ExpectedClose{ClosedByMe: true, CloseCodes: []int{1000}, RequireClean: true})
			s.SendFrame(FrameSpec{Opcode: 9, Payload: payload, Fin: true, Chop: chop})
			s.CloseAfter(wait)
		},
	}
}

// section2 returns the cases of section 2: pings and pongs.
func section2() []Case {
	const answered = "Pong with payload echo'ed is sent in reply to Ping. Clean close with normal code."
	const tenPongs = "Pongs for our Pings with all the payloads. Note: This is not required by the Spec .. but we check for this behaviour anyway. Clean close with normal code."
	tenPings := func(id string, chop int, desc string) Case {
		return Case{
			ID: id, Description: desc, Expectation: tenPongs,
			Run: func(s Session) {
				var want []Event
				for i := 0; i < 10; i++ {
					p := []byte(fmt.Sprintf("payload-%d", i))
					want = append(want, Pong(p))
					s.SendFrame(FrameSpec{Opcode: 9, Payload: p, Fin: true, Chop: chop})
				}
				s.Expect(OK, want...)
				s.ExpectClose(ExpectedClose{ClosedByMe: true, CloseCodes: []int{1000}, RequireClean: true})
				s.CloseAfter(3 * time.Second)
			},
		}
	}
	unsolicited := func(id string, payload []byte, desc string) Case {
		return Case{
			ID: id, Description: desc, Expectation: "Nothing.",
			Run: func(s Session) {
				s.Expect(OK)
				s.ExpectClose(ExpectedClose{ClosedByMe: true, CloseCodes: []int{1000}, RequireClean: true})
				s.SendFrame(Frame(10, payload))
				s.SendClose(1000, "")
				s.CloseAfter(time.Second)
			},
		}
	}
	return []Case{
		pingCase("2.1", []byte{}, 0, time.Second, "Send ping without payload.",
			"Pong (with empty payload) is sent in reply to Ping. Clean close with normal code."),
		pingCase("2.2", []byte("Hello, world!"), 0, time.Second, "Send ping with small text payload.", answered),
		pingCase("2.3", []byte("\x00\xff\xfe\xfd\xfc\xfb\x00\xff"), 0, time.Second,
			"Send ping with small binary (non UTF-8) payload.", answered),
		pingCase("2.4", bytes.Repeat([]byte{0xfe}, 125), 0, time.Second,
			"Send ping with binary payload of 125 octets.", answered),
		{
			ID:          "2.5",
			Description: "Send ping with binary payload of 126 octets.",
			Expectation: "Connection is failed immediately (1002/Protocol Error), since control frames are only allowed to have payload up to and including 125 octets..",
			Run: func(s Session) {
				s.Expect(OK)
				s.ExpectClose(ExpectedClose{ClosedByMe: false, CloseCodes: []int{1002}})
				s.SendFrame(Frame(9, bytes.Repeat([]byte{0xfe}, 126)))
				s.KillAfter(time.Second)
			},
		},
		pingCase("2.6", bytes.Repeat([]byte{0xfe}, 125), 1, 2*time.Second,
			"Send ping with binary payload of 125 octets, send in octet-wise chops.",
			"Pong with payload echo'ed is sent in reply to Ping. Implementations must be TCP clean. Clean close with normal code."),
		unsolicited("2.7", nil, "Send unsolicited pong without payload. Verify nothing is received. Clean close with normal code."),
		unsolicited("2.8", []byte("unsolicited pong payload"), "Send unsolicited pong with payload. Verify nothing is received. Clean close with normal code."),
		{
			ID:          "2.9",
			Description: "Send unsolicited pong with payload. Send ping with payload. Verify pong for ping is received.",
			Expectation: "Nothing in reply to own Pong, but Pong with payload echo'ed in reply to Ping. Clean close with normal code.",
			Run: func(s Session) {
				s.Expect(OK, Pong([]byte("ping payload")))
				s.ExpectClose(ExpectedClose{ClosedByMe: true, CloseCodes: []int{1000}, RequireClean: true})
				s.SendFrame(Frame(10, []byte("unsolicited pong payload")))
				s.SendFrame(Frame(9, []byte("ping payload")))
				s.CloseAfter(time.Second)
			},
		},
		tenPings("2.10", 0, "Send 10 Pings with payload."),
		tenPings("2.11", 1, "Send 10 Pings with payload. Send out octets in octet-wise chops."),
	}
}
