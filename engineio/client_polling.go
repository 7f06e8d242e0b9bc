package engineio

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// openPolling performs the polling handshake (Engine.IO v4, "Handshake"):
// a GET without sid, answered with the open packet, possibly followed by
// other packets in the same payload.
func (c *Client) openPolling(ctx context.Context) error {
	body, err := c.request(ctx, http.MethodGet, c.endpoint(Polling, false).String(), nil)
	if err != nil {
		return err
	}
	var scratch []byte
	var rest []packet
	first := true
	err = decodePayload(body, &scratch, func(p packet) bool {
		if first {
			first = false
			err := c.handshake(p)
			return err == nil
		}
		p.data = bytes.Clone(p.data)
		rest = append(rest, p)
		return true
	})
	if err == nil && c.hs.SID == "" {
		err = fmt.Errorf("%w: invalid open packet", ErrParseError)
	}
	if err != nil {
		return err
	}
	c.transport = Polling
	c.resetHeartbeat()
	c.debug("engine.io client open", "transport", Polling)
	go func() {
		for _, p := range rest {
			if !c.onPacket(p) {
				return
			}
		}
		c.pollLoop()
	}()
	if c.canUpgrade() {
		go c.upgrade()
	}
	return nil
}

// pollLoop keeps one GET in flight until the session ends or the upgrade
// pauses polling (Engine.IO v4, "HTTP long-polling").
func (c *Client) pollLoop() {
	var scratch []byte
	for {
		c.mu.Lock()
		if c.closed || c.paused || c.transport != Polling {
			c.polling = false
			c.cond.Broadcast()
			c.mu.Unlock()
			return
		}
		c.polling = true
		c.mu.Unlock()
		body, err := c.request(c.ctx, http.MethodGet, c.endpoint(Polling, true).String(), nil)
		if err != nil {
			c.pollFailed(err)
			return
		}
		ok := true
		err = decodePayload(body, &scratch, func(p packet) bool {
			ok = c.onPacket(p)
			return ok
		})
		if err != nil {
			c.pollFailed(fmt.Errorf("%w: %w", ErrParseError, err))
			return
		}
		if !ok {
			c.pollFailed(nil)
			return
		}
	}
}

func (c *Client) pollFailed(err error) {
	c.mu.Lock()
	c.polling = false
	c.cond.Broadcast()
	c.mu.Unlock()
	if err != nil {
		if !errors.Is(err, ErrParseError) {
			err = fmt.Errorf("%w: %w", ErrTransportError, err)
		}
		c.fail(err)
	}
}

// post sends a batch of packets in one POST, joined by the record
// separator.
func (c *Client) post(batch []*Prepared) error {
	n := 0
	for _, p := range batch {
		n += p.pollingLen() + 1
	}
	body := make([]byte, 0, n)
	for i, p := range batch {
		if i > 0 {
			body = append(body, separator)
		}
		body = p.appendPolling(body)
	}
	_, err := c.request(c.ctx, http.MethodPost, c.endpoint(Polling, true).String(), body)
	return err
}

// request makes one polling request and returns the response body, read up
// to ReadLimit. A status other than 200 is a *RequestError when the body
// is the reference server's {"code","message"}.
func (c *Client) request(ctx context.Context, method, u string, body []byte) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	for k, v := range c.opts.Header {
		req.Header[k] = v
	}
	if body != nil {
		req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	}
	resp, err := c.httpc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, c.opts.ReadLimit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > c.opts.ReadLimit {
		return nil, fmt.Errorf("engineio: polling response over %d bytes", c.opts.ReadLimit)
	}
	if resp.StatusCode != http.StatusOK {
		var e RequestError
		if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") && json.Unmarshal(data, &e) == nil && e.Message != "" {
			return nil, &e
		}
		return nil, fmt.Errorf("engineio: %s %s: HTTP %s", method, c.base.Path, resp.Status)
	}
	return data, nil
}
