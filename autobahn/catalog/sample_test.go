package catalog

import (
	"os"
	"strings"
	"testing"
)

// The race detector slows the catalog about tenfold: the whole of it takes
// minutes under -race on a quiet machine and can pass go test's timeout on
// a busy one. Under the race detector the end-to-end tests against this
// project's server and client therefore run a sample (raceSample); CI runs
// the whole catalog without the race detector as well, and CATALOG_FULL=1
// runs it whole under -race too.

// sampled reports whether the end-to-end tests run raceSample rather than
// every case.
func sampled() bool { return raceEnabled && os.Getenv("CATALOG_FULL") == "" }

// casesFor returns cases, or their raceSample when sampled.
func casesFor(cases []Case) []Case {
	if sampled() {
		return raceSample(cases)
	}
	return cases
}

// group is a case's subsection: its ID without the last number ("6.22" for
// "6.22.31", "2" for "2.10").
func group(id string) string { return id[:strings.LastIndexByte(id, '.')] }

// raceSample picks a representative sample of cases, in their order: from
// every subsection, its first and its last case (the last is usually the
// largest or the most fragmented); in sections 12 and 13, whose subsections
// repeat one ladder of 18 message sizes with different deflate parameters,
// two cases per subsection, stepping along the ladder so that the
// subsections together cover every size.
func raceSample(cases []Case) []Case {
	var groups []string
	members := map[string][]Case{}
	for _, c := range cases {
		g := group(c.ID)
		if members[g] == nil {
			groups = append(groups, g)
		}
		members[g] = append(members[g], c)
	}
	pick := map[string]bool{}
	ladder := 0 // subsections of sections 12 and 13 seen so far
	for _, g := range groups {
		m := members[g]
		if strings.HasPrefix(g, "12.") || strings.HasPrefix(g, "13.") {
			pick[m[(2*ladder)%len(m)].ID] = true
			pick[m[(2*ladder+1)%len(m)].ID] = true
			ladder++
			continue
		}
		pick[m[0].ID] = true
		pick[m[len(m)-1].ID] = true
	}
	var out []Case
	for _, c := range cases {
		if pick[c.ID] {
			out = append(out, c)
		}
	}
	return out
}

// TestRaceSampleIsRepresentative checks the sample's shape: every
// subsection is in it, every message size of sections 12 and 13 is, and it
// is a small part of the whole.
func TestRaceSampleIsRepresentative(t *testing.T) {
	all := All()
	s := raceSample(all)
	inSample := map[string]bool{}
	for _, c := range s {
		inSample[c.ID] = true
	}
	groups := map[string]bool{}
	sizes := map[string]bool{} // last number of the 12.x and 13.x cases sampled
	for _, c := range all {
		groups[group(c.ID)] = true
	}
	for _, c := range s {
		delete(groups, group(c.ID))
		if strings.HasPrefix(c.ID, "12.") || strings.HasPrefix(c.ID, "13.") {
			sizes[c.ID[strings.LastIndexByte(c.ID, '.')+1:]] = true
		}
	}
	if len(groups) != 0 {
		t.Errorf("subsections left out of the sample: %v", groups)
	}
	if len(sizes) != 18 {
		t.Errorf("the sample covers %d of the 18 message sizes of sections 12 and 13", len(sizes))
	}
	if len(s)*4 > len(all) {
		t.Errorf("the sample has %d of %d cases; want at most a quarter", len(s), len(all))
	}
	for _, id := range []string{"1.1.1", "1.1.8", "6.22.34", "9.1.6", "10.1.1", "12.1.1", "13.7.6"} {
		if !inSample[id] {
			t.Errorf("case %s is not in the sample", id)
		}
	}
	t.Logf("race sample: %d of %d cases", len(s), len(all))
}
