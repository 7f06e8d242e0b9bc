package client

import (
	"strings"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/deflate"
	"github.com/rfc6455/ws/handshake"
)

// withCompression returns the options with the permessage-deflate offer
// (RFC 7692 §5) added to the extensions and the acceptance of the server's
// answer chained in front of AcceptExtensions. The caller's Options are not
// modified.
func withCompression(opts *Options) *Options {
	if opts.Compression == nil {
		return opts
	}
	cfg := *opts.Compression
	o := *opts
	o.Extensions = append([]handshake.Extension{{Name: deflate.ExtensionName, Params: toHandshakeParams(cfg.Offer())}},
		opts.Extensions...)
	user := opts.AcceptExtensions
	o.AcceptExtensions = func(accepted []handshake.Extension, conn *ws.Options) error {
		var rest []handshake.Extension
		for _, e := range accepted {
			if !strings.EqualFold(e.Name, deflate.ExtensionName) {
				rest = append(rest, e)
				continue
			}
			// RFC 7692 §5: a response the client cannot use fails
			// the connection.
			params, err := cfg.Accept(fromHandshakeParams(e.Params))
			if err != nil {
				return err
			}
			conn.Compression = &ws.Compression{Params: params, Level: cfg.Level, Threshold: cfg.Threshold}
		}
		if user != nil {
			return user(rest, conn)
		}
		return nil
	}
	return &o
}

func toHandshakeParams(ps []deflate.Param) []handshake.Param {
	out := make([]handshake.Param, len(ps))
	for i, p := range ps {
		out[i] = handshake.Param{Name: p.Name, Value: p.Value}
	}
	return out
}

// fromHandshakeParams converts parsed parameters. handshake gives a
// valueless parameter an empty Value, and never an empty value otherwise.
func fromHandshakeParams(ps []handshake.Param) []deflate.Param {
	out := make([]deflate.Param, len(ps))
	for i, p := range ps {
		out[i] = deflate.Param{Name: p.Name, Value: p.Value, HasValue: p.Value != ""}
	}
	return out
}
