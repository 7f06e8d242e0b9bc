package catalog

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// Protocol states of the fuzzing peer, as in autobahn.
const (
	stateOpen = iota
	stateClosing
	stateClosed
)

// Close codes the fuzzing peer uses or checks.
const (
	codeNormal        = 1000
	codeGoingAway     = 1001
	codeProtocolError = 1002
	codeInvalidData   = 1007
)

// allowedCloseCode reports whether a received close code is acceptable, as
// autobahn's onCloseFrame decides: 1000–2999 only when assigned, 3000–4999
// always.
func allowedCloseCode(code int) bool {
	switch {
	case code < 1000 || code >= 5000:
		return false
	case code >= 3000:
		return true
	}
	switch code {
	case 1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013:
		return true
	}
	return false
}

// loopEvent is what reaches the event loop: a frame or the end of the
// connection from the reader, or a function from a timer.
type loopEvent struct {
	frame *rxFrame
	err   error
	fn    func()
}

// expectEntry is one acceptable outcome.
type expectEntry struct {
	verdict Verdict
	events  []Event
}

// timer is a cancellable callback that runs on the loop.
type timer struct {
	t         *time.Timer
	cancelled bool
}

func (t *timer) cancel() {
	if t != nil {
		t.cancelled = true
		t.t.Stop()
	}
}

// session plays the fuzzing peer for one connection. Everything except the
// reader and writer goroutines runs on the goroutine that calls run.
type session struct {
	opts     *Options
	c        net.Conn
	br       *bufio.Reader
	isServer bool
	cs       Case

	events chan loopEvent
	done   chan struct{}
	wq     *sendQueue
	wg     sync.WaitGroup
	timers []*timer

	state             int
	lost              bool
	connectionWasOpen bool
	closedByMe        bool
	failedByMe        bool
	droppedByMe       bool
	wasClean          bool
	wasNotCleanReason *string
	wasServerDropTO   bool
	wasCloseTO        bool
	localCloseCode    *int
	localCloseReason  *string
	remoteCloseCode   *int
	remoteCloseReason *string
	closeTimer        *timer
	serverDropTimer   *timer

	// receiving
	inside     bool
	msgBinary  bool
	msgData    []byte
	validating bool
	utf8       utf8Check

	// permessage-deflate, when negotiated
	pmd           *pmdState
	msgCompressed bool
	deflateErr    string

	// the case's state
	expected      []expectEntry
	expectedClose ExpectedClose
	received      []Event
	suppressClose bool
	reportTime    bool
	wirelog       bool
	autoFrag      int
	onMessage     func(payload []byte, binary bool)
	onPong        func(payload []byte)
	onEnd         func(r *Result)
	txFrames      map[byte]int
	rxFrames      map[byte]int

	// a frame streamed with BeginFrame and SendFrameData
	streamKey    [4]byte
	streamOff    int
	streamMasked bool

	start, end time.Time
}

func newSession(c net.Conn, br *bufio.Reader, isServer bool, cs Case, opts *Options) *session {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	return &session{
		opts:     opts,
		c:        c,
		br:       br,
		isServer: isServer,
		cs:       cs,
		events:   make(chan loopEvent, 16),
		done:     make(chan struct{}),
		txFrames: map[byte]int{},
		rxFrames: map[byte]int{},
		wirelog:  true,
	}
}

// run plays the case from the open connection to its end and returns the
// verdicts. It returns only after its goroutines have ended and the
// connection is closed.
func (s *session) run(ctx context.Context) Result {
	s.wq = newSendQueue(s.c)
	s.wg.Add(1)
	go s.readLoop()

	s.connectionWasOpen = true
	s.state = stateOpen
	s.start = time.Now()
	s.after(s.opts.caseTimeout(), func() {
		if s.state != stateClosed {
			s.notClean(fmt.Sprintf("case did not end within %v: connection dropped by the fuzzer", s.opts.caseTimeout()))
			s.drop(true)
		}
	})
	if s.cs.Run != nil {
		s.guard(func() { s.cs.Run(s) })
	}
	ctxDone := ctx.Done()
	for !s.lost {
		select {
		case ev := <-s.events:
			s.handle(ev)
		case <-ctxDone:
			ctxDone = nil
			if s.state != stateClosed {
				s.notClean("run cancelled")
				s.drop(true)
			}
		}
	}
	s.end = time.Now()
	for _, t := range s.timers {
		t.cancel()
	}
	close(s.done)
	_ = s.c.Close()
	s.wq.stop()
	s.wg.Wait()
	return s.verdicts()
}

// guard runs case code, turning a panic into a dropped connection so that
// one broken case cannot take the whole run down.
func (s *session) guard(fn func()) {
	defer func() {
		if p := recover(); p != nil {
			s.notClean(fmt.Sprintf("case %s panicked: %v", s.cs.ID, p))
			s.drop(true)
		}
	}()
	fn()
}

func (s *session) readLoop() {
	defer s.wg.Done()
	for {
		f, err := readFrame(s.br)
		select {
		case s.events <- loopEvent{frame: f, err: err}:
		case <-s.done:
			return
		}
		if err != nil {
			return
		}
	}
}

// after runs fn on the loop after d unless the session ended by then.
func (s *session) after(d time.Duration, fn func()) *timer {
	t := &timer{}
	t.t = time.AfterFunc(d, func() {
		select {
		case s.events <- loopEvent{fn: func() {
			if !t.cancelled {
				fn()
			}
		}}:
		case <-s.done:
		}
	})
	s.timers = append(s.timers, t)
	return t
}

func (s *session) handle(ev loopEvent) {
	switch {
	case ev.fn != nil:
		s.guard(ev.fn)
	case ev.err != nil:
		s.connectionLost()
	case ev.frame != nil:
		if s.state == stateClosed {
			return // data after we failed or dropped is ignored
		}
		s.guard(func() { s.processFrame(ev.frame) })
	}
}

func (s *session) notClean(reason string) {
	s.wasClean = false
	s.wasNotCleanReason = &reason
}

// connectionLost is autobahn's _connectionLost: TCP is gone.
func (s *session) connectionLost() {
	if s.serverDropTimer != nil {
		s.serverDropTimer.cancel()
	}
	s.state = stateClosed
	s.lost = true
	if !s.wasClean && !s.droppedByMe && s.wasNotCleanReason == nil {
		s.notClean("peer dropped the TCP connection without previous WebSocket closing handshake")
	}
}

// drop closes TCP. abort closes at once; otherwise what was queued is
// written first (bounded by a short timer, should the peer not read).
func (s *session) drop(abort bool) {
	if s.state == stateClosed {
		return
	}
	s.droppedByMe = true
	s.state = stateClosed
	if abort {
		_ = s.c.Close()
		return
	}
	s.wq.push(wItem{close: true})
	c := s.c
	s.after(2*time.Second, func() { _ = c.Close() })
}

// failConnection is autobahn's _fail_connection with failByDrop off, as
// the suite configures it: start a closing handshake with the code, or
// drop TCP when one is under way.
func (s *session) failConnection(code int, reason string) {
	if s.state == stateClosed {
		return
	}
	s.failedByMe = true
	if s.state != stateClosing {
		c := code
		s.sendCloseFrame(&c, truncateUTF8(reason, 123), false)
	} else {
		s.drop(false)
	}
}

func truncateUTF8(s string, n int) []byte {
	b := []byte(s)
	if len(b) <= n {
		return b
	}
	b = b[:n]
	for len(b) > 0 && !validUTF8(b) {
		b = b[:len(b)-1]
	}
	return b
}

// sendCloseFrame is autobahn's sendCloseFrame.
func (s *session) sendCloseFrame(code *int, reason []byte, isReply bool) {
	var payload []byte
	if code != nil {
		payload = binary.BigEndian.AppendUint16(payload, uint16(*code))
	}
	payload = append(payload, reason...)
	s.sendClosePayload(payload, code, reason, isReply)
}

// sendClosePayload sends a close frame with exactly payload and moves to
// the closing state, remembering code and reason as sent.
func (s *session) sendClosePayload(payload []byte, code *int, reason []byte, isReply bool) {
	if s.state != stateOpen {
		return
	}
	s.sendFrame(Frame(8, payload))
	s.state = stateClosing
	s.closedByMe = !isReply
	if code != nil {
		c := *code
		s.localCloseCode = &c
	}
	if reason != nil {
		r := string(reason)
		s.localCloseReason = &r
	}
	if s.closedByMe {
		s.closeTimer = s.after(s.opts.closeHandshakeTimeout(), func() {
			if s.state != stateClosed {
				s.notClean("peer did not respond (in time) in closing handshake")
				s.wasCloseTO = true
				s.drop(true)
			}
		})
	}
}

// expectServerDrop starts the client's wait for the server to close TCP.
func (s *session) expectServerDrop() {
	if s.serverDropTimer != nil {
		return
	}
	s.serverDropTimer = s.after(s.opts.serverConnectionDropTimeout(), func() {
		if s.state != stateClosed {
			s.notClean("server did not drop TCP connection (in time)")
			s.wasServerDropTO = true
			s.drop(true)
		}
	})
}

// protocolViolation fails the connection with 1002; processing of the
// frame goes on (failByDrop off), as in autobahn.
func (s *session) protocolViolation(reason string) {
	s.failConnection(codeProtocolError, reason)
}

func (s *session) invalidPayload(reason string) {
	s.failConnection(codeInvalidData, reason)
}

// processFrame applies autobahn's checks and dispatch to one frame.
func (s *session) processFrame(f *rxFrame) {
	s.rxFrames[f.opcode]++
	if f.rsv != 0 && (s.pmd == nil || f.rsv != 4) {
		s.protocolViolation(fmt.Sprintf("RSV = %d and no extension negotiated", f.rsv))
	}
	if s.isServer && !f.masked {
		s.protocolViolation("unmasked client-to-server frame")
	}
	if !s.isServer && f.masked {
		s.protocolViolation("masked server-to-client frame")
	}
	if f.opcode > 7 {
		if !f.fin {
			s.protocolViolation("fragmented control frame")
		}
		if len(f.payload) > 125 {
			s.protocolViolation("control frame with payload length > 125 octets")
		}
		if f.opcode != 8 && f.opcode != 9 && f.opcode != 10 {
			s.protocolViolation(fmt.Sprintf("control frame using reserved opcode %d", f.opcode))
		}
		if f.opcode == 8 && len(f.payload) == 1 {
			s.protocolViolation("received close control frame with payload len 1")
		}
		if s.pmd != nil && f.rsv == 4 {
			s.protocolViolation("control frame with RSV1 set (RFC 7692 §6.1: only data messages are compressed)")
		}
	} else {
		if f.opcode > 2 {
			s.protocolViolation(fmt.Sprintf("data frame using reserved opcode %d", f.opcode))
		}
		if !s.inside && f.opcode == 0 {
			s.protocolViolation("received continuation data frame outside fragmented message")
		}
		if s.inside && f.opcode != 0 {
			s.protocolViolation("received non-continuation data frame while inside fragmented message")
		}
		if s.pmd != nil && f.rsv == 4 && s.inside {
			s.protocolViolation("received continuation data frame with compress bit set")
		}
	}
	if f.nonMinimal {
		s.protocolViolation("invalid data frame length (not using minimal length encoding)")
	}
	if s.state == stateClosed {
		return
	}
	if f.opcode > 7 {
		s.processControl(f)
		return
	}
	if !s.inside {
		s.inside = true
		s.msgBinary = f.opcode == 2
		s.msgData = nil
		s.validating = f.opcode == 1
		s.utf8 = utf8Check{}
		s.msgCompressed = s.pmd != nil && f.rsv == 4
	}
	if s.msgCompressed {
		s.compressedFrame(f)
		return
	}
	if s.validating && !s.utf8.feed(f.payload) {
		s.invalidPayload("encountered invalid UTF-8 while processing text message")
		if s.state == stateClosed {
			return
		}
	}
	if !s.failedByMe {
		s.msgData = append(s.msgData, f.payload...)
	}
	if !f.fin {
		return
	}
	if s.validating && !s.utf8.complete() {
		s.invalidPayload("UTF-8 text message payload ended within Unicode code point")
		if s.state == stateClosed {
			return
		}
	}
	s.inside = false
	data := s.msgData
	s.msgData = nil
	if s.failedByMe {
		return
	}
	s.deliver(data)
}

// compressedFrame collects the frames of a compressed message; at the last
// one it inflates the message, checks it and delivers it.
func (s *session) compressedFrame(f *rxFrame) {
	if !s.failedByMe {
		s.msgData = append(s.msgData, f.payload...)
	}
	if !f.fin {
		return
	}
	s.inside = false
	s.msgCompressed = false
	payload := s.msgData
	s.msgData = nil
	if s.failedByMe {
		return
	}
	data, err := s.pmd.decompress(payload)
	if err != nil {
		s.deflateErr = err.Error()
		var we *windowError
		if errors.As(err, &we) {
			s.protocolViolation(err.Error())
		} else {
			s.invalidPayload(err.Error())
		}
		return
	}
	if s.validating && !validUTF8(data) {
		s.invalidPayload("encountered invalid UTF-8 while processing text message")
		return
	}
	s.deliver(data)
}

// deliver hands a received message to the case.
func (s *session) deliver(data []byte) {
	if data == nil {
		data = []byte{}
	}
	if s.onMessage != nil {
		s.onMessage(data, s.msgBinary)
		return
	}
	s.Record(Message(data, s.msgBinary))
	s.FinishWhenDone()
}

func (s *session) processControl(f *rxFrame) {
	switch f.opcode {
	case 8:
		var code *int
		var reason []byte
		if len(f.payload) > 1 {
			c := int(binary.BigEndian.Uint16(f.payload))
			code = &c
			if len(f.payload) > 2 {
				reason = f.payload[2:]
			}
		}
		s.onCloseFrame(code, reason)
	case 9:
		// Pings are answered while open and not recorded: the suite's
		// fuzzing protocol leaves autobahn's default onPing in place.
		if s.state == stateOpen {
			s.sendFrame(Frame(10, f.payload))
		}
	case 10:
		if s.onPong != nil {
			s.onPong(f.payload)
			return
		}
		s.Record(Pong(f.payload))
		s.FinishWhenDone()
	}
}

// onCloseFrame is autobahn's onCloseFrame.
func (s *session) onCloseFrame(code *int, reason []byte) {
	s.remoteCloseCode = nil
	s.remoteCloseReason = nil
	if code != nil && !allowedCloseCode(*code) {
		s.protocolViolation(fmt.Sprintf("invalid close code %d", *code))
		normal := codeNormal
		s.remoteCloseCode = &normal
	} else {
		s.remoteCloseCode = code
	}
	if reason != nil {
		if !validUTF8(reason) {
			s.invalidPayload("invalid close reason (non-UTF8 payload)")
		} else {
			r := string(reason)
			s.remoteCloseReason = &r
		}
	}
	switch s.state {
	case stateClosing:
		s.closeTimer.cancel()
		s.wasClean = true
		if s.isServer {
			s.drop(true)
		} else {
			s.expectServerDrop()
		}
	case stateOpen:
		s.wasClean = true
		normal := codeNormal
		s.sendCloseFrame(&normal, nil, true)
		if s.isServer {
			s.drop(false)
		} else {
			// autobahn would wait for the server without limit here; the
			// same drop timeout bounds it.
			s.expectServerDrop()
		}
	case stateClosed:
		s.wasClean = false
	}
}

func (s *session) sendFrame(f FrameSpec) {
	if s.state == stateClosed {
		return
	}
	s.txFrames[f.Opcode]++
	s.wq.push(wItem{data: encodeFrame(f, s.isServer), sync: f.Sync, chop: f.Chop})
}

// verdicts is case.py's onConnectionLost, followed by the case's OnEnd.
func (s *session) verdicts() Result {
	r := Result{
		Behavior:          Failed,
		BehaviorClose:     Failed,
		Result:            "Actual events differ from any expected.",
		ResultClose:       "TCP connection was dropped without close handshake",
		Received:          append([]Event(nil), s.received...),
		ClosedByMe:        s.closedByMe,
		FailedByMe:        s.failedByMe,
		DroppedByMe:       s.droppedByMe,
		WasClean:          s.wasClean,
		WasNotCleanReason: deref(s.wasNotCleanReason),
		RemoteCloseCode:   s.remoteCloseCode,
		RemoteCloseReason: s.remoteCloseReason,
		Duration:          s.end.Sub(s.start),
		ConnectionWasOpen: s.connectionWasOpen,
	}
	for _, e := range s.expected {
		if sameEvents(s.received, e.events) {
			r.Behavior = e.verdict
			r.Result = "Actual events match at least one expected."
			break
		}
	}
	ec := s.expectedClose
	if s.connectionWasOpen {
		switch {
		case ec.ClosedByMe != s.closedByMe:
			r.BehaviorClose = Failed
			r.ResultClose = "The connection was failed by the wrong endpoint"
		case ec.RequireClean && !s.wasClean:
			r.BehaviorClose = Unclean
			r.ResultClose = "The spec requires the connection to be failed cleanly here"
		case s.remoteCloseCode != nil && !containsInt(ec.CloseCodes, *s.remoteCloseCode):
			r.BehaviorClose = WrongCode
			r.ResultClose = "The close code should have been " + joinInts(ec.CloseCodes) + " or empty"
		case !s.isServer && s.droppedByMe:
			r.BehaviorClose = FailedByClient
			r.ResultClose = "It is preferred that the server close the TCP connection"
		default:
			r.BehaviorClose = OK
			r.ResultClose = "Connection was properly closed"
		}
		if ec.ClosedByWrongEndpointIsFatal && ec.ClosedByMe != s.closedByMe {
			r.Behavior = Failed
		}
	} else {
		r.BehaviorClose = Failed
		r.ResultClose = "The WebSocket opening handshake was never completed!"
	}
	if s.onEnd != nil {
		s.onEnd(&r)
	}
	return r
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func containsInt(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func joinInts(list []int) string {
	out := ""
	for i, x := range list {
		if i > 0 {
			out += ","
		}
		out += fmt.Sprint(x)
	}
	return out
}

func sameEvents(a, b []Event) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// The Session interface.

func (s *session) Expect(v Verdict, events ...Event) {
	s.expected = append(s.expected, expectEntry{v, append([]Event{}, events...)})
}

func (s *session) ExpectClose(c ExpectedClose) { s.expectedClose = c }

func (s *session) Record(e Event) { s.received = append(s.received, e) }

func (s *session) FinishWhenDone() {
	// Every expected verdict must match (with alternatives for one verdict
	// counting as one), as case.py's finishWhenDone requires.
	for _, e := range s.expected {
		matched := false
		for _, o := range s.expected {
			if o.verdict == e.verdict && sameEvents(s.received, o.events) {
				matched = true
				break
			}
		}
		if !matched {
			return
		}
	}
	if s.expectedClose.ClosedByMe && !s.suppressClose {
		s.sendClose(s.firstCode())
	}
}

func (s *session) firstCode() *int {
	if len(s.expectedClose.CloseCodes) == 0 {
		return nil
	}
	c := s.expectedClose.CloseCodes[0]
	return &c
}

func (s *session) sendClose(code *int) { s.sendCloseFrame(code, nil, false) }

func (s *session) Received() []Event { return append([]Event(nil), s.received...) }
func (s *session) SuppressClose()    { s.suppressClose = true }
func (s *session) SetReportTime()    { s.reportTime = true }

func (s *session) OnMessage(fn func(payload []byte, binary bool)) { s.onMessage = fn }
func (s *session) OnPong(fn func(payload []byte))                 { s.onPong = fn }
func (s *session) OnEnd(fn func(r *Result))                       { s.onEnd = fn }

func (s *session) SendFrame(f FrameSpec) { s.sendFrame(f) }

func (s *session) SendMessage(payload []byte, binary bool) {
	s.sendMessage(payload, binary, s.autoFrag, false)
}

func (s *session) SendMessageFragmented(payload []byte, binary bool, fragSize int, sync bool) {
	s.sendMessage(payload, binary, fragSize, sync)
}

// sendMessage is autobahn's sendMessage: the message is compressed when
// permessage-deflate is in force, then fragmented, with RSV1 on its first
// frame only.
func (s *session) sendMessage(payload []byte, binary bool, frag int, sync bool) {
	if s.state != stateOpen {
		return
	}
	op := byte(1)
	if binary {
		op = 2
	}
	var rsv byte
	if s.pmd != nil {
		payload = s.pmd.compress(payload)
		rsv = 4
	}
	if frag <= 0 || len(payload) <= frag {
		s.sendFrame(FrameSpec{Opcode: op, Payload: payload, Fin: true, Sync: sync, Rsv: rsv})
		return
	}
	for i := 0; i < len(payload); i += frag {
		j := min(i+frag, len(payload))
		o, r := byte(0), byte(0)
		if i == 0 {
			o, r = op, rsv
		}
		s.sendFrame(FrameSpec{Opcode: o, Payload: payload[i:j], Fin: j == len(payload), Sync: sync, Rsv: r})
	}
}

func (s *session) SetAutoFragmentSize(n int) { s.autoFrag = n }

func (s *session) SendClose(code int, reason string) {
	if code == 0 {
		s.sendCloseFrame(nil, nil, false)
		return
	}
	var r []byte
	if reason != "" {
		r = truncateUTF8(reason, 123)
	}
	s.sendCloseFrame(&code, r, false)
}

func (s *session) ContinueLater(d time.Duration, tag string, fn func()) {
	s.after(d, func() {
		if s.state != stateClosed {
			fn()
		}
	})
}

func (s *session) KillAfter(d time.Duration) {
	s.after(d, func() {
		if s.state != stateClosed {
			s.failConnection(codeGoingAway, "Going Away")
		}
	})
}

func (s *session) CloseAfter(d time.Duration) {
	s.after(d, func() {
		if s.state != stateClosed {
			s.sendCloseFrame(nil, nil, false)
		}
	})
}

func (s *session) IsOpen() bool         { return s.state == stateOpen }
func (s *session) DeflateError() string { return s.deflateErr }

func (s *session) Deflate() (DeflateParams, bool) {
	if s.pmd == nil {
		return DeflateParams{}, false
	}
	return s.pmd.params, true
}
func (s *session) IsServer() bool           { return s.isServer }
func (s *session) TxFrames(opcode byte) int { return s.txFrames[opcode] }
func (s *session) SetWirelog(on bool)       { s.wirelog = on }

// SendCloseFrame starts the closing handshake with a close frame whose
// payload is exactly payload, valid or not (autobahn's sendCloseFrame as
// the section 7 cases use it). It does nothing once a close was sent or
// received.
func (s *session) SendCloseFrame(payload []byte) {
	var code *int
	var reason []byte
	if len(payload) >= 2 {
		c := int(binary.BigEndian.Uint16(payload))
		code = &c
		if len(payload) > 2 {
			reason = payload[2:]
		}
	}
	s.sendClosePayload(append([]byte(nil), payload...), code, reason, false)
}

// BeginFrame writes the header of a frame whose payload follows later in
// SendFrameData calls (autobahn's beginMessageFrame), masked with one key
// across the calls when the fuzzer is the client. It does nothing unless
// the connection is open.
func (s *session) BeginFrame(opcode byte, fin bool, length int) {
	if s.state != stateOpen {
		return
	}
	b0 := opcode % 128
	if fin {
		b0 |= 0x80
	}
	var b1 byte
	s.streamMasked = !s.isServer
	if s.streamMasked {
		b1 = 0x80
	}
	out := []byte{b0}
	switch {
	case length <= 125:
		out = append(out, b1|byte(length))
	case length <= 0xffff:
		out = append(out, b1|126)
		out = binary.BigEndian.AppendUint16(out, uint16(length))
	default:
		out = append(out, b1|127)
		out = binary.BigEndian.AppendUint64(out, uint64(length))
	}
	s.streamOff = 0
	if s.streamMasked {
		_, _ = rand.Read(s.streamKey[:])
		out = append(out, s.streamKey[:]...)
	}
	s.txFrames[opcode]++
	s.wq.push(wItem{data: out})
}

// SendFrameData writes the next piece of the payload of the frame begun by
// BeginFrame, masked from where the previous piece ended. It does nothing
// unless the connection is open.
func (s *session) SendFrameData(data []byte) {
	if s.state != stateOpen {
		return
	}
	p := append([]byte(nil), data...)
	if s.streamMasked {
		for i := range p {
			p[i] ^= s.streamKey[(s.streamOff+i)&3]
		}
	}
	s.streamOff += len(p)
	s.wq.push(wItem{data: p})
}
