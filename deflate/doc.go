// Package deflate implements the permessage-deflate WebSocket extension
// (RFC 7692): the negotiation of its four parameters, and the compression
// and decompression of message payloads.
//
// # Negotiation
//
// A server passes the parameter lists of every permessage-deflate offer in a
// request, in the client's order of preference, to [ServerConfig.Negotiate],
// and puts [Params.Format] of the result in its response. A client puts
// [ClientConfig.Offer] in its request and checks the server's answer with
// [ClientConfig.Accept]; an error there means the client must fail the
// connection (RFC 7692 §7).
//
// # Window sizes
//
// Unlike compress/flate, whose LZ77 window is always 32 KiB, [Compressor]
// limits its back-references to any window from 2^8 to 2^15 bytes, so a
// server can accept every server_max_window_bits a client asks for
// (RFC 7692 §7.1.2.1) and a client every client_max_window_bits a server
// picks (§7.1.2.2). Its memory is sized by the window (see [NewCompressor]):
// 10 KiB for an 8-bit window, 163 KiB for 15 bits, against 0.8 to 1.2 MB
// for a compress/flate Writer.
//
// # Messages
//
// [Compressor.Compress] produces a message payload with the trailing
// 00 00 ff ff already removed (RFC 7692 §7.2.1); [Decompressor.Decompress]
// puts it back (§7.2.2) and inflates with compress/flate, stopping as soon
// as the output would pass a limit, so a compression bomb is never inflated
// whole. Both keep the LZ77 history from message to message (context
// takeover) or forget it after each message, as the takeover argument says.
//
// Neither type is safe for concurrent use; a connection owns one of each
// direction it compresses with context takeover, and shares pooled ones
// (see [GetCompressor]) otherwise.
package deflate
