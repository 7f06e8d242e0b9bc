package server

import (
	"strings"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/deflate"
	"github.com/rfc6455/ws/handshake"
)

// negotiateCompression answers the client's permessage-deflate offers (RFC
// 7692 §5) and returns the accepted extension, if any, and the other offers
// for NegotiateExtensions. The first acceptable offer in the client's order
// wins; offers the server cannot accept are declined, not refused.
func negotiateCompression(cfg *deflate.ServerConfig, offers []handshake.Extension, conn *ws.Options) (*handshake.Extension, []handshake.Extension) {
	var pmd [][]deflate.Param
	var rest []handshake.Extension
	for _, o := range offers {
		if strings.EqualFold(o.Name, deflate.ExtensionName) {
			ps := make([]deflate.Param, len(o.Params))
			for i, p := range o.Params {
				// handshake gives a valueless parameter an empty
				// Value, and never an empty value otherwise.
				ps[i] = deflate.Param{Name: p.Name, Value: p.Value, HasValue: p.Value != ""}
			}
			pmd = append(pmd, ps)
			continue
		}
		rest = append(rest, o)
	}
	if len(pmd) == 0 {
		return nil, rest
	}
	resp, ok := cfg.Negotiate(pmd)
	if !ok {
		return nil, rest
	}
	conn.Compression = &ws.Compression{Params: resp, Level: cfg.Level, Threshold: cfg.Threshold}
	ext := &handshake.Extension{Name: deflate.ExtensionName}
	for _, p := range resp.Format() {
		ext.Params = append(ext.Params, handshake.Param{Name: p.Name, Value: p.Value})
	}
	return ext, rest
}
