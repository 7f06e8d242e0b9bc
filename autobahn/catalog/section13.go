package catalog

import (
	"fmt"
	"strings"
)

// Section 13: permessage-deflate with different parameters, over the JSON
// data set. Each subsection pairs the offers the fuzzing peer makes as a
// client with the answer it gives as a server, as the original's
// DEFLATE_PARAMS do. The original's source asks for window bits 8; the
// suite as released (its reports read "(False, 9)") asks for 9, and so do
// these cases.

// Answers of the fuzzing server (the original's accept1 to accept7): each
// takes the first offer it can accept.

func s13Accept(nct bool, bits int) func([]DeflateOffer) *DeflateAccept {
	return func(offers []DeflateOffer) *DeflateAccept {
		for _, o := range offers {
			if (nct && !o.AcceptNoContextTakeover) || (bits != 0 && !o.AcceptMaxWindowBits) {
				continue
			}
			return &DeflateAccept{Offer: o, RequestNoContextTakeover: nct, RequestMaxWindowBits: bits}
		}
		return nil
	}
}

// s13Param is one subsection: the client's offers as (requestNoContextTakeover,
// requestMaxWindowBits) pairs, and the server's answers in order of
// preference.
type s13Param struct {
	offers  [][2]int // {nct 0/1, bits}
	answers [][2]int
}

var s13Params = []s13Param{
	{[][2]int{{0, 0}}, [][2]int{{0, 0}}},
	{[][2]int{{1, 0}}, [][2]int{{1, 0}}},
	{[][2]int{{0, 9}}, [][2]int{{0, 9}}},
	{[][2]int{{0, 15}}, [][2]int{{0, 15}}},
	{[][2]int{{1, 9}}, [][2]int{{1, 9}}},
	{[][2]int{{1, 15}}, [][2]int{{1, 15}}},
	{[][2]int{{1, 9}, {1, 0}, {0, 0}}, [][2]int{{1, 9}, {1, 0}, {0, 0}}},
}

// pyPairs formats pairs as the original's descriptions do: [(True, 9)].
func pyPairs(ps [][2]int) string {
	var s []string
	for _, p := range ps {
		s = append(s, fmt.Sprintf("(%s, %d)", pyBool(p[0] == 1), p[1]))
	}
	return "[" + strings.Join(s, ", ") + "]"
}

func (p s13Param) compression() *Compression {
	c := &Compression{}
	for _, o := range p.offers {
		off := DefaultDeflateOffer
		off.RequestNoContextTakeover = o[0] == 1
		off.RequestMaxWindowBits = o[1]
		c.ClientOffers = append(c.ClientOffers, off)
	}
	var accepts []func([]DeflateOffer) *DeflateAccept
	for _, a := range p.answers {
		accepts = append(accepts, s13Accept(a[0] == 1, a[1]))
	}
	c.ServerAccept = func(offers []DeflateOffer) *DeflateAccept {
		for _, f := range accepts {
			if a := f(offers); a != nil {
				return a
			}
		}
		return nil
	}
	return c
}

// s13JSON is the index of the JSON data set, which section 13 uses.
const s13JSON = 0

// section13 returns the cases of section 13.
func section13() []Case {
	var out []Case
	for j, p := range s13Params {
		comp := p.compression()
		desc := "permessage-deflate client offers (requestNoContextTakeover, requestMaxWindowBits): " + pyPairs(p.offers)
		for i, sz := range s12Sizes {
			out = append(out, s12Case{
				id: fmt.Sprintf("13.%d.%d", j+1, i+1), data: s13JSON, sz: sz, comp: comp, offerTx: desc,
			}.toCase())
		}
	}
	return out
}
