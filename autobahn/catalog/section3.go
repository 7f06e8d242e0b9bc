package catalog

import "time"

// section3 returns the cases of section 3: reserved bits set without an
// extension that defines them.
func section3() []Case {
	const hello = "Hello, world!"
	failNow := ExpectedClose{ClosedByMe: false, CloseCodes: []int{1002}}
	const afterEcho = "Echo for first message is received, but then connection is failed immediately, since RSV must be 0, when no extension defining RSV meaning has been negotiated. The Pong is not received."
	// goodBadPing sends a good text message, the same with RSV bits set,
	// then a ping, each with the given write pattern.
	goodBadPing := func(id string, rsv byte, sync bool, chop int, desc string) Case {
		return Case{
			ID: id, Description: desc, Expectation: afterEcho,
			Run: func(s Session) {
				s.Expect(OK, Message([]byte(hello), false))
				s.Expect(NonStrict)
				s.ExpectClose(failNow)
				s.SendFrame(FrameSpec{Opcode: 1, Payload: []byte(hello), Fin: true, Sync: sync, Chop: chop})
				s.SendFrame(FrameSpec{Opcode: 1, Payload: []byte(hello), Fin: true, Rsv: rsv, Sync: sync, Chop: chop})
				s.SendFrame(FrameSpec{Opcode: 9, Fin: true, Sync: sync, Chop: chop})
				s.KillAfter(time.Second)
			},
		}
	}
	single := func(id string, f FrameSpec, desc, expect string) Case {
		return Case{
			ID: id, Description: desc, Expectation: expect,
			Run: func(s Session) {
				s.Expect(OK)
				s.ExpectClose(failNow)
				s.SendFrame(f)
				s.KillAfter(time.Second)
			},
		}
	}
	return []Case{
		single("3.1", FrameSpec{Opcode: 1, Payload: []byte(hello), Fin: true, Rsv: 1},
			"Send small text message with <b>RSV = 1</b>.",
			"The connection is failed immediately (1002/protocol error), since RSV must be 0, when no extension defining RSV meaning has been negoiated."),
		goodBadPing("3.2", 2, false, 0, "Send small text message, then send again with <b>RSV = 2</b>, then send Ping."),
		goodBadPing("3.3", 3, true, 0, "Send small text message, then send again with <b>RSV = 3</b>, then send Ping. Octets are sent in frame-wise chops. Octets are sent in octet-wise chops."),
		goodBadPing("3.4", 4, false, 1, "Send small text message, then send again with <b>RSV = 4</b>, then send Ping. Octets are sent in octet-wise chops."),
		single("3.5", FrameSpec{Opcode: 2, Payload: []byte("\x00\xff\xfe\xfd\xfc\xfb\x00\xff"), Fin: true, Rsv: 5},
			"Send small binary message with <b>RSV = 5</b>.", "The connection is failed immediately, since RSV must be 0."),
		// The suite's 3.6 says Ping but sends a binary frame (opcode 2);
		// kept as the suite has it.
		single("3.6", FrameSpec{Opcode: 2, Payload: []byte(hello), Fin: true, Rsv: 6},
			"Send Ping with <b>RSV = 6</b>.", "The connection is failed immediately, since RSV must be 0."),
		single("3.7", FrameSpec{Opcode: 8, Fin: true, Rsv: 7},
			"Send Close with <b>RSV = 7</b>.", "The connection is failed immediately, since RSV must be 0."),
	}
}
