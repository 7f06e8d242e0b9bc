package engineio

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/client"
)

// dialWebSocket opens the WebSocket transport, with the session's cookies
// and headers.
func (c *Client) dialWebSocket(ctx context.Context, withSID bool) (*ws.Conn, error) {
	opts := c.opts.WebSocket
	h := opts.Header.Clone()
	if h == nil {
		h = http.Header{}
	}
	for k, v := range c.opts.Header {
		h[k] = v
	}
	if jar := c.httpc.Jar; jar != nil {
		var parts []string
		for _, ck := range jar.Cookies(c.base) {
			parts = append(parts, ck.Name+"="+ck.Value)
		}
		if len(parts) > 0 {
			cookie := parts[0]
			for _, p := range parts[1:] {
				cookie += "; " + p
			}
			h.Set("Cookie", cookie)
		}
	}
	opts.Header = h
	if opts.Conn.ReadLimit == 0 {
		opts.Conn.ReadLimit = c.opts.ReadLimit
	}
	conn, resp, err := client.Dial(ctx, c.endpoint(WebSocket, withSID).String(), &opts)
	if err != nil {
		return nil, err
	}
	if jar := c.httpc.Jar; jar != nil && resp != nil {
		if cks := resp.Cookies(); len(cks) > 0 {
			jar.SetCookies(c.base, cks)
		}
	}
	return conn, nil
}

// openWebSocket opens the session on WebSocket directly: the server's first
// message is the open packet.
func (c *Client) openWebSocket(ctx context.Context) error {
	conn, err := c.dialWebSocket(ctx, false)
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { conn.CloseNow() })
	typ, msg, err := conn.ReadMessage(c.ctx, nil)
	stopped := stop()
	if err != nil {
		conn.CloseNow()
		if !stopped {
			return ctx.Err()
		}
		return err
	}
	var scratch []byte
	var p packet
	if typ == ws.Text {
		p, err = decodePacket(msg, &scratch)
	} else {
		err = fmt.Errorf("%w: binary open packet", ErrParseError)
	}
	if err == nil {
		err = c.handshake(p)
	}
	if err != nil {
		conn.Close(ws.ClosePolicyViolation, "")
		return err
	}
	c.transport = WebSocket
	c.conn = conn
	c.resetHeartbeat()
	c.debug("engine.io client open", "transport", WebSocket)
	go c.readWebSocket(conn)
	return nil
}

// readWebSocket reads the server's packets until the session ends.
func (c *Client) readWebSocket(conn *ws.Conn) {
	var buf, scratch []byte
	for {
		typ, msg, err := conn.ReadMessage(c.ctx, buf)
		if err != nil {
			var ce *ws.CloseError
			if errors.As(err, &ce) || errors.Is(err, io.EOF) || errors.Is(err, ws.ErrClosed) {
				c.fail(ErrTransportClose)
			} else {
				c.fail(fmt.Errorf("%w: %w", ErrTransportError, err))
			}
			return
		}
		buf = msg
		if typ == ws.Binary {
			c.deliver(ws.Binary, msg)
			continue
		}
		p, err := decodePacket(msg, &scratch)
		if err != nil {
			c.fail(fmt.Errorf("%w: %w", ErrParseError, err))
			return
		}
		if !c.onPacket(p) {
			return
		}
	}
}

// writeWebSocket writes a batch of packets, one message each.
func (c *Client) writeWebSocket(conn *ws.Conn, batch []*Prepared) error {
	for _, p := range batch {
		var err error
		if p.enc != nil {
			err = conn.WriteMessage(c.ctx, ws.Text, p.enc)
		} else {
			err = conn.WriteMessage(c.ctx, ws.Binary, p.data)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// upgrade moves a polling session to WebSocket (Engine.IO v4, "Upgrade"):
// a probe ("2probe", answered "3probe") on a new WebSocket with the
// session's sid, then polling pauses (the pending GET is answered by the
// server with a noop, the POST in flight completes), the client sends "5"
// on the WebSocket, and everything goes there from then on. A probe that
// fails leaves the session on polling.
func (c *Client) upgrade() {
	ctx, cancel := context.WithTimeout(c.ctx, c.opts.ProbeTimeout)
	defer cancel()
	conn, err := c.dialWebSocket(ctx, true)
	if err != nil {
		c.debug("engine.io client: upgrade failed", "err", err)
		return
	}
	probeFailed := func(err error) {
		c.debug("engine.io client: probe failed", "err", err)
		conn.CloseNow()
	}
	if err := conn.WriteMessage(ctx, ws.Text, []byte("2probe")); err != nil {
		probeFailed(err)
		return
	}
	typ, msg, err := conn.ReadMessage(ctx, nil)
	if err != nil {
		probeFailed(err)
		return
	}
	if typ != ws.Text || string(msg) != "3probe" {
		probeFailed(fmt.Errorf("unexpected probe answer %q", msg))
		return
	}
	c.mu.Lock()
	c.paused = true
	for !c.closed && (c.writing || c.polling) {
		c.cond.Wait()
	}
	if c.closed {
		c.mu.Unlock()
		conn.CloseNow()
		return
	}
	c.mu.Unlock()
	if err := conn.WriteMessage(ctx, ws.Text, []byte{packetUpgrade}); err != nil {
		conn.CloseNow()
		c.fail(fmt.Errorf("%w: upgrade: %w", ErrTransportError, err))
		return
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		conn.CloseNow()
		return
	}
	c.transport = WebSocket
	c.conn = conn
	c.paused = false
	c.kick()
	c.mu.Unlock()
	c.debug("engine.io client upgraded")
	go c.readWebSocket(conn)
	if c.opts.OnUpgrade != nil {
		c.opts.OnUpgrade()
	}
}
