package catalog

// Section 5: fragmentation. Cases 5.1 to 5.20 of the suite.

// section5 returns the cases of section 5.
func section5() []Case {
	return []Case{
		{
			ID:          "5.1",
			Description: "Send a ping split into 2 fragments (ping with FIN clear, then a continuation).",
			Expectation: "The peer fails the connection at once: control frames must not be fragmented.",
			Run: func(s Session) {
				s567FailOnFrames(s,
					s567Frame(s567OpPing, false, "fragment1"),
					s567Frame(s567OpCont, true, "fragment2"))
			},
		},
		{
			ID:          "5.2",
			Description: "Send a pong split into 2 fragments (pong with FIN clear, then a continuation).",
			Expectation: "The peer fails the connection at once: control frames must not be fragmented.",
			Run: func(s Session) {
				s567FailOnFrames(s,
					s567Frame(s567OpPong, false, "fragment1"),
					s567Frame(s567OpCont, true, "fragment2"))
			},
		},
		{
			ID:          "5.3",
			Description: "Send a text message in 2 fragments.",
			Expectation: "The peer echoes the whole message.",
			Run: func(s Session) {
				s5EchoFragments(s, nil,
					s567Frame(s567OpText, false, "fragment1"),
					s567Frame(s567OpCont, true, "fragment2"))
			},
		},
		{
			ID:          "5.4",
			Description: "Send a text message in 2 fragments, each frame written on its own (sync).",
			Expectation: "The peer echoes the whole message.",
			Run: func(s Session) {
				s5EchoFragments(s, nil,
					s567Synced(s567OpText, false, "fragment1", true),
					s567Synced(s567OpCont, true, "fragment2", true))
			},
		},
		{
			ID:          "5.5",
			Description: "Send a text message in 2 fragments, written one octet at a time.",
			Expectation: "The peer echoes the whole message.",
			Run: func(s Session) {
				s5EchoFragments(s, nil,
					s567Chopped(s567OpText, false, "fragment1", 1),
					s567Chopped(s567OpCont, true, "fragment2", 1))
			},
		},
		{
			ID:          "5.6",
			Description: "Send a text message in 2 fragments with a ping (with payload) between them.",
			Expectation: "The peer answers the ping with a pong first, then echoes the message.",
			Run: func(s Session) {
				s5EchoFragments(s, []Event{s567Pong("ping payload")},
					s567Frame(s567OpText, false, "fragment1"),
					s567Frame(s567OpPing, true, "ping payload"),
					s567Frame(s567OpCont, true, "fragment2"))
			},
		},
		{
			ID:          "5.7",
			Description: "As 5.6, each frame written on its own (sync).",
			Expectation: "The peer answers the ping with a pong first, then echoes the message.",
			Run: func(s Session) {
				s5EchoFragments(s, []Event{s567Pong("ping payload")},
					s567Synced(s567OpText, false, "fragment1", true),
					s567Synced(s567OpPing, true, "ping payload", true),
					s567Synced(s567OpCont, true, "fragment2", true))
			},
		},
		{
			ID:          "5.8",
			Description: "As 5.6, written one octet at a time.",
			Expectation: "The peer answers the ping with a pong first, then echoes the message.",
			Run: func(s Session) {
				s5EchoFragments(s, []Event{s567Pong("ping payload")},
					s567Chopped(s567OpText, false, "fragment1", 1),
					s567Chopped(s567OpPing, true, "ping payload", 1),
					s567Chopped(s567OpCont, true, "fragment2", 1))
			},
		},
		s5NothingToContinue("5.9", true, "all in one write",
			func(op byte, fin bool, p string) FrameSpec { return s567Frame(op, fin, p) }),
		s5NothingToContinue("5.10", true, "each frame written on its own (sync)",
			func(op byte, fin bool, p string) FrameSpec { return s567Synced(op, fin, p, true) }),
		s5NothingToContinue("5.11", true, "written one octet at a time",
			func(op byte, fin bool, p string) FrameSpec { return s567Chopped(op, fin, p, 1) }),
		s5NothingToContinue("5.12", false, "all in one write",
			func(op byte, fin bool, p string) FrameSpec { return s567Frame(op, fin, p) }),
		s5NothingToContinue("5.13", false, "each frame written on its own (sync)",
			func(op byte, fin bool, p string) FrameSpec { return s567Synced(op, fin, p, true) }),
		s5NothingToContinue("5.14", false, "written one octet at a time",
			func(op byte, fin bool, p string) FrameSpec { return s567Chopped(op, fin, p, 1) }),
		{
			ID: "5.15",
			Description: "Send a text message in 2 fragments, then a continuation with FIN clear " +
				"that continues nothing, then a text message; all in one write.",
			Expectation: "The peer fails the connection at the stray continuation; " +
				"echoing the first message before that is the strict outcome.",
			Run: func(s Session) {
				s.Expect(OK, s567Text("fragment1fragment2"))
				s.Expect(NonStrict)
				s567ExpectPeerFails(s, s567CodeProtocolError)
				s.SendFrame(s567Frame(s567OpText, false, "fragment1"))
				s.SendFrame(s567Frame(s567OpCont, true, "fragment2"))
				s.SendFrame(s567Frame(s567OpCont, false, "fragment3"))
				s.SendFrame(s567Frame(s567OpText, true, "fragment4"))
				s.KillAfter(s567Second)
			},
		},
		{
			ID: "5.16",
			Description: "Twice: a continuation with FIN clear that continues nothing, " +
				"then a text message in 2 fragments.",
			Expectation: "The peer fails the connection at once: there is no message to continue.",
			Run: func(s Session) {
				var frames []FrameSpec
				for range 2 {
					frames = append(frames,
						s567Frame(s567OpCont, false, "fragment1"),
						s567Frame(s567OpText, false, "fragment2"),
						s567Frame(s567OpCont, true, "fragment3"))
				}
				s567FailOnFrames(s, frames...)
			},
		},
		{
			ID: "5.17",
			Description: "Twice: a continuation with FIN set that continues nothing, " +
				"then a text message in 2 fragments.",
			Expectation: "The peer fails the connection at once: there is no message to continue.",
			Run: func(s Session) {
				var frames []FrameSpec
				for range 2 {
					frames = append(frames,
						s567Frame(s567OpCont, true, "fragment1"),
						s567Frame(s567OpText, false, "fragment2"),
						s567Frame(s567OpCont, true, "fragment3"))
				}
				s567FailOnFrames(s, frames...)
			},
		},
		{
			ID:          "5.18",
			Description: "Send a text message in 2 fragments whose second frame also has the text opcode; one write.",
			Expectation: "The peer fails the connection at once: frames after the first of a message must be continuations.",
			Run: func(s Session) {
				s567FailOnFrames(s,
					s567Frame(s567OpText, false, "fragment1"),
					s567Frame(s567OpText, true, "fragment2"))
			},
		},
		s5PingsInsideMessage("5.19", false),
		s5PingsInsideMessage("5.20", true),
	}
}

// s567FailOnFrames sends frames the peer must reject with a protocol error
// and gives it a second to fail the connection. Nothing may be received.
func s567FailOnFrames(s Session, frames ...FrameSpec) {
	s.Expect(OK)
	s567ExpectPeerFails(s, s567CodeProtocolError)
	for _, f := range frames {
		s.SendFrame(f)
	}
	s.KillAfter(s567Second)
}

// s5EchoFragments sends a fragmented text message "fragment1fragment2"
// (possibly with control frames in between, whose answers are before), and
// expects before and then the echo; the fuzzing peer closes after a second.
func s5EchoFragments(s Session, before []Event, frames ...FrameSpec) {
	s.Expect(OK, append(before, s567Text("fragment1fragment2"))...)
	s567ExpectMyCleanClose(s, s567CodeNormal)
	for _, f := range frames {
		s.SendFrame(f)
	}
	s.CloseAfter(s567Second)
}

// s5NothingToContinue is 5.9 to 5.14: a continuation frame (FIN as given)
// with no message to continue, then a valid text message.
func s5NothingToContinue(id string, fin bool, how string, frame func(byte, bool, string) FrameSpec) Case {
	finText := "clear"
	if fin {
		finText = "set"
	}
	return Case{
		ID: id,
		Description: "Send a continuation frame with FIN " + finText +
			" while no message is in progress, then a text message; " + how + ".",
		Expectation: "The peer fails the connection at once: there is no message to continue.",
		Run: func(s Session) {
			s567FailOnFrames(s,
				frame(s567OpCont, fin, "non-continuation payload"),
				frame(s567OpText, true, "Hello, world!"))
		},
	}
}

// s5PingsInsideMessage is 5.19 (sync false) and 5.20 (sync true): a text
// message in 5 fragments with two pings inside it and a one second pause
// after the first ping.
func s5PingsInsideMessage(id string, sync bool) Case {
	desc := "Send a text message in 5 fragments: 2 fragments, a ping, a 1 s pause, " +
		"2 more fragments, a second ping, the last fragment. All legal."
	exp := "The peer answers the first ping at once, before the message is complete, " +
		"answers both pings with their payloads and echoes the whole message."
	if sync {
		desc = "As 5.19, but every frame written on its own (sync); the octets are the same, only their chopping differs."
		exp = "As 5.19: the result must not depend on how the stream is chopped."
	}
	return Case{
		ID:          id,
		Description: desc,
		Expectation: exp,
		Run: func(s Session) {
			s.Expect(OK,
				s567Pong("pongme 1!"),
				s567Pong("pongme 2!"),
				s567Text("fragment1fragment2fragment3fragment4fragment5"))
			s567ExpectMyCleanClose(s, s567CodeNormal)
			s.SendFrame(s567Synced(s567OpText, false, "fragment1", sync))
			s.SendFrame(s567Synced(s567OpCont, false, "fragment2", sync))
			s.SendFrame(s567Synced(s567OpPing, true, "pongme 1!", sync))
			s.ContinueLater(s567Second, "part2", func() {
				s.SendFrame(s567Synced(s567OpCont, false, "fragment3", sync))
				s.SendFrame(s567Synced(s567OpCont, false, "fragment4", sync))
				s.SendFrame(s567Synced(s567OpPing, true, "pongme 2!", sync))
				s.SendFrame(s567Synced(s567OpCont, true, "fragment5", sync))
				s.CloseAfter(s567Second)
			})
		},
	}
}
