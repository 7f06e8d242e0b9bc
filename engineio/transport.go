package engineio

import (
	"errors"
	"fmt"
	"time"

	"github.com/rfc6455/ws"
)

// wsTransport is a WebSocket connection of a session, the session's
// transport or the probe connection of an upgrade, whichever driver serves
// it: the goroutine driver (goConn: a *ws.Conn read by a goroutine of its
// own) or the event-loop driver (loopConn: a loop.Conn whose events come
// from an event loop). Both hand each message they read to the same
// event-driven functions (onProbeMessage, onWSMessage, transportEnded), so
// that every rule of the protocol has one copy.
type wsTransport interface {
	// write writes one message: the goroutine driver blocks until it is
	// written (bounded by the connection's write timeout), the event-loop
	// driver queues what the socket does not take. Only the session's
	// writer (writeLoop), one at a time, and the upgrade's probe
	// ("3probe") write.
	write(typ ws.MessageType, data []byte) error
	// writeBatch writes messages prepared once for every receiver (runs
	// of broadcasts), together: one vectored write.
	writeBatch(pms []*ws.PreparedMessage) error
	// close closes the connection with code, without blocking; 0 closes
	// TCP at once, without a closing handshake.
	close(code ws.CloseCode)
	// buffered returns the bytes handed to the connection and not yet
	// written to the network (0 for a driver whose writes block).
	buffered() int64
}

// Results of onProbeMessage: what the driver does next.
const (
	probeWait     = iota // the upgrade goes on: read the next message
	probeUpgraded        // "5" came: the connection is the session's transport
	probeEnded           // the upgrade was abandoned or the session ended
)

// reserveUpgrade marks the session as upgrading before the 101 of a probe
// connection goes out, so that a second WebSocket the client opens after
// seeing it is refused whatever the scheduling of the two handshakes. It
// reports false when the session cannot take the connection (already
// upgraded or upgrading: a client must not open a second WebSocket per
// session; or upgrades disabled): the connection is then accepted and
// closed with 1008, which is what the reference server does. A
// reservation whose connection never opens (a handshake that failed after
// the decision, which the event loop's goroutine driver does not report)
// lapses after UpgradeTimeout.
func (s *Socket) reserveUpgrade() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != stateOpen || s.ws || s.upgrading || s.srv.opts.DisableUpgrades {
		return false
	}
	s.upgrading = true
	s.extra().probeTimer = time.AfterFunc(s.srv.opts.UpgradeTimeout, func() {
		s.mu.Lock()
		if s.upgrading && s.more.probe == nil {
			s.upgrading = false
			s.more.probeTimer = nil
		}
		s.mu.Unlock()
	})
	return true
}

// unreserveUpgrade undoes reserveUpgrade when the handshake failed.
func (s *Socket) unreserveUpgrade() {
	s.mu.Lock()
	s.upgrading = false
	s.stopProbeTimer()
	s.mu.Unlock()
}

// startProbe makes t, whose handshake reserveUpgrade allowed, the probe
// connection of the session's upgrade (protocol v4, "Upgrade"), and arms
// UpgradeTimeout: a probe that has not sent "5" by then is closed and the
// session goes on polling. It reports false (and closes t) when the
// session ended meanwhile.
func (s *Socket) startProbe(t wsTransport) bool {
	s.mu.Lock()
	s.stopProbeTimer() // the reservation's
	if s.state != stateOpen || !s.upgrading {
		// Ended, or the reservation lapsed.
		s.upgrading = false
		s.mu.Unlock()
		t.close(ws.CloseNormal)
		return false
	}
	x := s.extra()
	x.probe = t
	// The timeout forgets the probe before it closes it, so that a client
	// that sees the close may start another upgrade at once.
	x.probeTimer = time.AfterFunc(s.srv.opts.UpgradeTimeout, func() { s.abandonUpgrade(t, ws.CloseNormal) })
	s.mu.Unlock()
	return true
}

// onProbeMessage handles a message of the probe connection t of an
// upgrade (protocol v4, "Upgrade"): "2probe" is answered with "3probe",
// and pending and further GETs return at once (with a noop when nothing is
// queued) so that the client can pause polling; "5" moves the session to
// t. Any other message abandons the upgrade: t is closed (1008) and the
// session goes on polling.
func (s *Socket) onProbeMessage(t wsTransport, typ ws.MessageType, msg []byte) int {
	switch {
	case typ == ws.Text && string(msg) == "2probe":
		if err := t.write(ws.Text, probePong); err != nil {
			s.abandonUpgrade(t, ws.CloseNormal)
			return probeEnded
		}
		s.mu.Lock()
		if s.probeConn() == t {
			s.probed = true
			s.kickPoll()
		}
		s.mu.Unlock()
		return probeWait
	case typ == ws.Text && len(msg) == 1 && msg[0] == packetUpgrade:
		if !s.completeUpgrade(t) {
			return probeEnded
		}
		s.received()
		return probeUpgraded
	default:
		s.abandonUpgrade(t, ws.ClosePolicyViolation)
		return probeEnded
	}
}

// kickPoll wakes the GET in flight; s.mu is held.
func (s *Socket) kickPoll() {
	if s.more != nil && s.more.pollWake != nil {
		select {
		case s.more.pollWake <- struct{}{}:
		default:
		}
	}
}

// stopProbeTimer stops the UpgradeTimeout of the probe; s.mu is held.
func (s *Socket) stopProbeTimer() {
	if s.more != nil && s.more.probeTimer != nil {
		s.more.probeTimer.Stop()
		s.more.probeTimer = nil
	}
}

// abandonUpgrade closes a probe connection and forgets it; the session
// goes on polling. It is also what a driver calls when the probe
// connection failed or was closed.
func (s *Socket) abandonUpgrade(t wsTransport, code ws.CloseCode) {
	s.mu.Lock()
	current := s.probeConn() == t
	if current {
		s.more.probe = nil
		s.upgrading = false
		s.probed = false
		s.stopProbeTimer()
	}
	s.mu.Unlock()
	if current {
		// Otherwise whoever forgot it (the timeout, the end of the
		// session) has closed it.
		t.close(code)
	}
}

// completeUpgrade moves the session to the probe connection: what is
// queued goes out on it, in order, and a GET still in flight is ended with
// a noop. It reports false when the session had ended.
func (s *Socket) completeUpgrade(t wsTransport) bool {
	s.mu.Lock()
	if s.probeConn() != t || s.state == stateClosed {
		s.mu.Unlock()
		t.close(ws.CloseNormal)
		return false
	}
	s.more.probe = nil
	s.stopProbeTimer()
	s.upgrading = false
	s.probed = false
	s.ws = true
	s.conn = t
	s.kickPoll()
	s.kick()
	s.mu.Unlock()
	return true
}

// onWSMessage handles a message read on the session's WebSocket
// transport: text frames are packets, binary frames binary messages
// (protocol v4, "Packet encoding"). A malformed packet closes the session
// (ErrParseError) and the connection (1008). scratch is the driver's
// buffer for decoding base64; from says who calls (fromReader or fromLoop,
// see onPacketFrom). It reports whether the session goes on.
func (s *Socket) onWSMessage(typ ws.MessageType, msg []byte, scratch *[]byte, from uint8) bool {
	var p packet
	if typ == ws.Binary {
		p = packet{kind: packetMessage, typ: ws.Binary, data: msg}
	} else {
		var err error
		if p, err = decode(msg, scratch, true); err != nil {
			s.terminate(fmt.Errorf("%w: %w", ErrParseError, err), packetClose, ws.ClosePolicyViolation)
			return false
		}
	}
	return s.onPacketFrom(p, from)
}

// transportEnded ends the session whose WebSocket transport t failed or
// was closed by the peer: ErrTransportClose when the peer closed it (a
// close frame, or the end of the connection), ErrTransportError for other
// failures (a broken frame, a message over MaxPayload).
func (s *Socket) transportEnded(t wsTransport, err error) {
	s.mu.Lock()
	current := s.conn == t
	s.mu.Unlock()
	if !current {
		return
	}
	var ce *ws.CloseError
	if errors.As(err, &ce) || errors.Is(err, ws.ErrClosed) {
		s.terminate(fmt.Errorf("%w: %w", ErrTransportClose, err), 0, ws.CloseNormal)
		return
	}
	s.terminate(fmt.Errorf("%w: %w", ErrTransportError, err), 0, ws.CloseNormal)
}

// wsFrame returns how packet p travels on a WebSocket (protocol v4,
// "Packet encoding"): a text packet as a text frame of its encoding, a
// binary message as a binary frame or, when the client asked for b64, as
// "b" and base64 in a text frame (appended to tmp). A shared packet's
// frame is prepared once for every receiver: pm is then set instead.
func (p *Prepared) wsFrame(b64 bool, tmp []byte) (pm *ws.PreparedMessage, typ ws.MessageType, data []byte) {
	switch {
	case p.sharedFrame(b64):
		return p.wsMessage(), 0, nil
	case p.enc != nil:
		return nil, ws.Text, p.enc
	case !b64:
		return nil, ws.Binary, p.data
	default:
		return nil, ws.Text, p.binaryText(tmp)
	}
}

// sharedFrame reports whether wsFrame gives p's frame prepared once for
// every receiver.
func (p *Prepared) sharedFrame(b64 bool) bool { return p.shared && (p.enc != nil || !b64) }
