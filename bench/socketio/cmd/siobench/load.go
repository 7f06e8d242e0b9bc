package main

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/engineio"
)

// sock is one load-client socket: a raw Socket.IO client on this module's
// Engine.IO client, lean enough that the load client spends its CPU on the
// wire and not on decoding. It joins namespace "/", counts "msg" events,
// and waits for acknowledgements one at a time.
type sock struct {
	c         *engineio.Client
	connected chan struct{}
	acks      chan []byte // ack payloads, in order
	nextID    uint64
	msgs      *atomic.Int64 // "msg" events received, shared
}

var msgPrefix = []byte(`2["msg"`)

func dialSock(ctx context.Context, url string, transport string, msgs *atomic.Int64) (*sock, error) {
	s := &sock{connected: make(chan struct{}), acks: make(chan []byte, 4), msgs: msgs}
	var once sync.Once
	opts := &engineio.ClientOptions{
		Transports: []string{transport},
		OnMessage: func(typ ws.MessageType, data []byte) {
			if typ != ws.Text || len(data) == 0 {
				return
			}
			switch data[0] {
			case '0': // CONNECT accepted
				once.Do(func() { close(s.connected) })
			case '2': // EVENT
				if s.msgs != nil && len(data) >= len(msgPrefix) && string(data[:len(msgPrefix)]) == string(msgPrefix) {
					s.msgs.Add(1)
				}
			case '3': // ACK
				select {
				case s.acks <- append([]byte(nil), data...):
				default:
				}
			}
		},
	}
	c, err := engineio.Dial(ctx, url+"/socket.io/", opts)
	if err != nil {
		return nil, err
	}
	s.c = c
	if err := c.Send(ctx, ws.Text, []byte("0")); err != nil { // CONNECT "/"
		c.Close()
		return nil, err
	}
	select {
	case <-s.connected:
		return s, nil
	case <-c.Done():
		return nil, fmt.Errorf("closed before CONNECT: %v", c.Err())
	case <-ctx.Done():
		c.Close()
		return nil, ctx.Err()
	}
}

// call emits an event with an ack id and waits for the ack.
func (s *sock) call(ctx context.Context, event string, argsJSON string) ([]byte, error) {
	id := s.nextID
	s.nextID++
	pkt := make([]byte, 0, 32+len(argsJSON))
	pkt = append(pkt, '2')
	pkt = strconv.AppendUint(pkt, id, 10)
	pkt = append(pkt, `["`...)
	pkt = append(pkt, event...)
	pkt = append(pkt, '"')
	if argsJSON != "" {
		pkt = append(pkt, ',')
		pkt = append(pkt, argsJSON...)
	}
	pkt = append(pkt, ']')
	if err := s.c.Send(ctx, ws.Text, pkt); err != nil {
		return nil, err
	}
	select {
	case a := <-s.acks:
		return a, nil
	case <-s.c.Done():
		return nil, fmt.Errorf("closed: %v", s.c.Err())
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// dialMany connects n sockets, conc at a time.
func dialMany(ctx context.Context, url, transport string, n, conc int, msgs *atomic.Int64) ([]*sock, error) {
	socks := make([]*sock, n)
	errs := make(chan error, n)
	sem := make(chan struct{}, conc)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			s, err := dialSock(dctx, url, transport, msgs)
			if err != nil {
				errs <- err
				return
			}
			socks[i] = s
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		closeAll(socks)
		return nil, fmt.Errorf("connecting %d sockets (%s): %w", n, transport, err)
	}
	return socks, nil
}

func closeAll(socks []*sock) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 256)
	for _, s := range socks {
		if s == nil {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			s.c.Close()
			<-sem
		}()
	}
	wg.Wait()
}
