package socketio

import (
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"time"
)

// recovery is a namespace's connection state recovery (the reference's
// SessionAwareAdapter): the broadcasts it sent, each with an offset that
// went to the clients as the event's last argument, and the state of the
// sockets that disconnected, by private session id. A client that comes
// back with {"pid","offset"} in its CONNECT auth within
// MaxDisconnectionDuration gets its socket back, and every broadcast after
// its offset that its rooms would have received, in order.
type recovery struct {
	opts   *Recovery
	prefix string // marks this process's offsets

	mu       sync.Mutex // also orders broadcasts: retained in delivery order
	seq      uint64     // of the next offset
	first    uint64     // seq of packets[0]
	packets  []retained
	sessions map[string]*session
	sweeping bool
}

// retained is a broadcast kept for recovery.
type retained struct {
	at     time.Time
	rooms  []string
	except []string
	p      *payload
}

// session is the state of a socket that disconnected.
type session struct {
	sid, pid string
	rooms    []string
	data     any
	at       time.Time
}

func newRecovery(opts *Recovery) *recovery {
	return &recovery{opts: opts, prefix: newID()[:8] + "-", sessions: make(map[string]*session)}
}

// nextOffset returns the offset of the next broadcast; r.mu is held.
func (r *recovery) nextOffset() string {
	return r.prefix + strconv.FormatUint(r.seq, 36)
}

// retain keeps a broadcast under the offset nextOffset returned, and drops
// those older than MaxDisconnectionDuration or beyond MaxRetainedPackets;
// r.mu is held.
func (r *recovery) retain(p *payload, rooms, except []string) {
	now := time.Now()
	r.packets = append(r.packets, retained{at: now, rooms: rooms, except: except, p: p})
	r.seq++
	drop := 0
	limit := now.Add(-r.opts.MaxDisconnectionDuration)
	for drop < len(r.packets) && (len(r.packets)-drop > r.opts.MaxRetainedPackets || r.packets[drop].at.Before(limit)) {
		r.packets[drop] = retained{}
		drop++
	}
	r.packets = r.packets[drop:]
	r.first += uint64(drop)
}

// persist keeps a disconnected socket's state.
func (r *recovery) persist(pid, sid string, rooms []string, data any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sessions[pid] = &session{sid: sid, pid: pid, rooms: rooms, data: data, at: time.Now()}
	if !r.sweeping {
		r.sweeping = true
		time.AfterFunc(r.opts.MaxDisconnectionDuration, r.sweep)
	}
}

// sweep forgets the sessions that expired, and comes back while some
// remain.
func (r *recovery) sweep() {
	r.mu.Lock()
	defer r.mu.Unlock()
	limit := time.Now().Add(-r.opts.MaxDisconnectionDuration)
	for pid, s := range r.sessions {
		if !s.at.After(limit) {
			delete(r.sessions, pid)
		}
	}
	if len(r.sessions) == 0 {
		r.sweeping = false
		return
	}
	time.AfterFunc(r.opts.MaxDisconnectionDuration/2, r.sweep)
}

// restoreLocked returns the session a CONNECT's auth asks for, with the
// broadcasts after its offset that its rooms would have received, or nil
// when there is none to restore: no "pid" and "offset" strings, an expired
// session, or an offset no longer (or never) kept. r.mu is held.
func (r *recovery) restoreLocked(auth json.RawMessage) (*session, []*payload) {
	var a struct {
		PID    *string `json:"pid"`
		Offset *string `json:"offset"`
	}
	if json.Unmarshal(auth, &a) != nil || a.PID == nil || a.Offset == nil {
		return nil, nil
	}
	s := r.sessions[*a.PID]
	if s == nil {
		return nil, nil
	}
	if time.Since(s.at) > r.opts.MaxDisconnectionDuration {
		delete(r.sessions, *a.PID)
		return nil, nil
	}
	n, ok := strings.CutPrefix(*a.Offset, r.prefix)
	if !ok {
		return nil, nil
	}
	seq, err := strconv.ParseUint(n, 36, 64)
	if err != nil || seq < r.first || seq >= r.first+uint64(len(r.packets)) {
		return nil, nil
	}
	delete(r.sessions, *a.PID)
	var missed []*payload
	for _, p := range r.packets[seq-r.first+1:] {
		if includes(s.rooms, p.rooms, p.except) {
			missed = append(missed, p.p)
		}
	}
	return s, missed
}

// includes reports whether a socket in rooms receives a broadcast to to
// except except (the reference's shouldIncludePacket).
func includes(rooms, to, except []string) bool {
	in := len(to) == 0
	for _, r := range rooms {
		for _, e := range except {
			if r == e {
				return false
			}
		}
		for _, t := range to {
			in = in || r == t
		}
	}
	return in
}
