package catalog

import "unicode/utf8"

// The UTF-8 test vectors behind cases 6.5 to 6.23, in the suite's order
// and numbering. Most come from Markus Kuhn's UTF-8 decoder stress test
// (http://www.cl.cam.ac.uk/~mgk25/ucs/examples/UTF-8-test.txt); the
// section of that file is noted with each group.

// s6Vector is one payload and whether it is valid UTF-8.
type s6Vector struct {
	valid   bool
	payload string
}

// s6Group is one subsection (6.N) of generated cases.
type s6Group struct {
	title   string
	vectors []s6Vector
}

// s6Kosme is "κόσμε", the UTF-8 sample text of the stress test.
const s6Kosme = "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"

func s6Valid(p string) s6Vector   { return s6Vector{valid: true, payload: p} }
func s6Invalid(p string) s6Vector { return s6Vector{valid: false, payload: p} }

// s6Groups returns the groups for 6.5, 6.6, ... 6.23 in that order.
func s6Groups() []s6Group {
	var groups []s6Group
	add := func(title string, vs ...s6Vector) {
		groups = append(groups, s6Group{title: title, vectors: vs})
	}

	// 6.5 (stress test 1): correct UTF-8 text.
	add("Some valid UTF-8 sequences",
		s6Valid("hello\x24world"),             // U+0024
		s6Valid("hello\xc2\xa2world"),         // U+00A2
		s6Valid("hello\xe2\x82\xacworld"),     // U+20AC
		s6Valid("hello\xf0\xa4\xad\xa2world"), // U+24B62
		s6Valid(s6Kosme))

	// 6.6: every prefix of κόσμε; valid exactly when it ends on a code
	// point boundary (lengths 2, 5, 7, 9 and 11).
	var prefixes []s6Vector
	for i := 1; i <= len(s6Kosme); i++ {
		p := s6Kosme[:i]
		prefixes = append(prefixes, s6Vector{valid: utf8.ValidString(p), payload: p})
	}
	add("All prefixes of a valid UTF-8 string that contains multi-byte code points", prefixes...)

	// 6.7 (2.1): first sequence of each length.
	add("First possible sequence of a certain length",
		s6Valid("\x00"),
		s6Valid("\xc2\x80"),
		s6Valid("\xe0\xa0\x80"),
		s6Valid("\xf0\x90\x80\x80"))

	// 6.8 (2.1): 5 and 6 octet forms, beyond U+10FFFF.
	add("First possible sequence length 5/6 (invalid codepoints)",
		s6Invalid("\xf8\x88\x80\x80\x80"),
		s6Invalid("\xfc\x84\x80\x80\x80\x80"))

	// 6.9 (2.2): last sequence of each length.
	add("Last possible sequence of a certain length",
		s6Valid("\x7f"),
		s6Valid("\xdf\xbf"),
		s6Valid("\xef\xbf\xbf"),
		s6Valid("\xf4\x8f\xbf\xbf"))

	// 6.10 (2.2): last 4, 5 and 6 octet forms, beyond U+10FFFF.
	add("Last possible sequence length 4/5/6 (invalid codepoints)",
		s6Invalid("\xf7\xbf\xbf\xbf"),
		s6Invalid("\xfb\xbf\xbf\xbf\xbf"),
		s6Invalid("\xfd\xbf\xbf\xbf\xbf\xbf"))

	// 6.11 (2.3): other boundaries.
	add("Other boundary conditions",
		s6Valid("\xed\x9f\xbf"),
		s6Valid("\xee\x80\x80"),
		s6Valid("\xef\xbf\xbd"),
		s6Valid("\xf4\x8f\xbf\xbf"),
		s6Invalid("\xf4\x90\x80\x80"))

	// 6.12 (3.1): continuation octets with no lead octet; the last is
	// every octet 0x80..0xBE in a row.
	var allCont []byte
	for b := 0x80; b < 0xbf; b++ {
		allCont = append(allCont, byte(b))
	}
	add("Unexpected continuation bytes",
		s6Invalid("\x80"),
		s6Invalid("\xbf"),
		s6Invalid("\x80\xbf"),
		s6Invalid("\x80\xbf\x80"),
		s6Invalid("\x80\xbf\x80\xbf"),
		s6Invalid("\x80\xbf\x80\xbf\x80"),
		s6Invalid("\x80\xbf\x80\xbf\x80\xbf"),
		s6Invalid(string(allCont)))

	// 6.13 (3.2): each lead octet of a range followed by a space; the
	// ranges end one below the stress test's (0xDF, 0xEF, 0xF7, 0xFB and
	// 0xFD are left out, as the suite does).
	var lonely []s6Vector
	for _, r := range [][2]int{{0xc0, 0xdf}, {0xe0, 0xef}, {0xf0, 0xf7}, {0xf8, 0xfb}, {0xfc, 0xfd}} {
		var p []byte
		for b := r[0]; b < r[1]; b++ {
			p = append(p, byte(b), 0x20)
		}
		lonely = append(lonely, s6Invalid(string(p)))
	}
	add("Lonely start characters", lonely...)

	// 6.14 (3.3): sequences missing their last continuation octet.
	truncated := []string{
		"\xc0", "\xe0\x80", "\xf0\x80\x80", "\xf8\x80\x80\x80", "\xfc\x80\x80\x80\x80",
		"\xdf", "\xef\xbf", "\xf7\xbf\xbf", "\xfb\xbf\xbf\xbf", "\xfd\xbf\xbf\xbf\xbf",
	}
	var missing []s6Vector
	concat := ""
	for _, t := range truncated {
		missing = append(missing, s6Invalid(t))
		concat += t
	}
	add("Sequences with last continuation byte missing", missing...)

	// 6.15 (3.4): all of 6.14 in one payload.
	add("Concatenation of incomplete sequences", s6Invalid(concat))

	// 6.16 (3.5): octets that never appear in UTF-8.
	add("Impossible bytes",
		s6Invalid("\xfe"),
		s6Invalid("\xff"),
		s6Invalid("\xfe\xfe\xff\xff"))

	// 6.17 (4.1): overlong forms of '/'.
	add("Examples of an overlong ASCII character",
		s6Invalid("\xc0\xaf"),
		s6Invalid("\xe0\x80\xaf"),
		s6Invalid("\xf0\x80\x80\xaf"),
		s6Invalid("\xf8\x80\x80\x80\xaf"),
		s6Invalid("\xfc\x80\x80\x80\x80\xaf"))

	// 6.18 (4.2): the largest overlong form of each length.
	add("Maximum overlong sequences",
		s6Invalid("\xc1\xbf"),
		s6Invalid("\xe0\x9f\xbf"),
		s6Invalid("\xf0\x8f\xbf\xbf"),
		s6Invalid("\xf8\x87\xbf\xbf\xbf"),
		s6Invalid("\xfc\x83\xbf\xbf\xbf\xbf"))

	// 6.19 (4.3): overlong forms of NUL.
	add("Overlong representation of the NUL character",
		s6Invalid("\xc0\x80"),
		s6Invalid("\xe0\x80\x80"),
		s6Invalid("\xf0\x80\x80\x80"),
		s6Invalid("\xf8\x80\x80\x80\x80"),
		s6Invalid("\xfc\x80\x80\x80\x80\x80"))

	// 6.20 (5.1): lone UTF-16 surrogates encoded as UTF-8.
	add("Single UTF-16 surrogates",
		s6Invalid("\xed\xa0\x80"),
		s6Invalid("\xed\xad\xbf"),
		s6Invalid("\xed\xae\x80"),
		s6Invalid("\xed\xaf\xbf"),
		s6Invalid("\xed\xb0\x80"),
		s6Invalid("\xed\xbe\x80"),
		s6Invalid("\xed\xbf\xbf"))

	// 6.21 (5.2): surrogate pairs encoded as UTF-8.
	add("Paired UTF-16 surrogates",
		s6Invalid("\xed\xa0\x80\xed\xb0\x80"),
		s6Invalid("\xed\xa0\x80\xed\xbf\xbf"),
		s6Invalid("\xed\xad\xbf\xed\xb0\x80"),
		s6Invalid("\xed\xad\xbf\xed\xbf\xbf"),
		s6Invalid("\xed\xae\x80\xed\xb0\x80"),
		s6Invalid("\xed\xae\x80\xed\xbf\xbf"),
		s6Invalid("\xed\xaf\xbf\xed\xb0\x80"),
		s6Invalid("\xed\xaf\xbf\xed\xbf\xbf"))

	// 6.22 (5.3): noncharacters, which are valid UTF-8 (RFC 3629):
	// U+FFFE, U+FFFF, then U+nFFFE and U+nFFFF of the supplementary
	// planes, as the suite enumerates them (lead F0..F4, second octet
	// 8F/9F/AF/BF; F4 only with 8F; without the overlong F0 8F forms).
	nonchars := []s6Vector{s6Valid("\xef\xbf\xbe"), s6Valid("\xef\xbf\xbf")}
	for _, lead := range []byte{0xf0, 0xf1, 0xf2, 0xf3, 0xf4} {
		for _, second := range []byte{0x8f, 0x9f, 0xaf, 0xbf} {
			if lead == 0xf4 && second != 0x8f {
				continue // beyond U+10FFFF
			}
			if lead == 0xf0 && second == 0x8f {
				continue // overlong
			}
			for _, last := range []byte{0xbe, 0xbf} {
				nonchars = append(nonchars, s6Valid(string([]byte{lead, second, 0xbf, last})))
			}
		}
	}
	add("Non-character code points (valid UTF-8)", nonchars...)

	// 6.23: the Specials block U+FFF9..U+FFFF.
	add("Unicode specials (i.e. replacement char)",
		s6Valid("\xef\xbf\xb9"),
		s6Valid("\xef\xbf\xba"),
		s6Valid("\xef\xbf\xbb"),
		s6Valid("\xef\xbf\xbc"),
		s6Valid("\xef\xbf\xbd"),
		s6Valid("\xef\xbf\xbe"),
		s6Valid("\xef\xbf\xbf"))

	return groups
}
