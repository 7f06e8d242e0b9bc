package brokenpeers_test

import (
	"context"
	"errors"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/rfc6455/ws/autobahn/brokenpeers"
	"github.com/rfc6455/ws/autobahn/catalog"
)

// serve starts a server of kind on a loopback port and returns its URL.
func serve(t *testing.T, kind brokenpeers.Kind) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- brokenpeers.Serve(ln, kind) }()
	t.Cleanup(func() {
		ln.Close()
		if err := <-done; !errors.Is(err, net.ErrClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	return "ws://" + ln.Addr().String() + "/"
}

// run runs the cases matching patterns against a server of kind and
// returns the reports by case ID.
func run(t *testing.T, kind brokenpeers.Kind, patterns []string) map[string]catalog.Report {
	t.Helper()
	cases, err := catalog.Select(catalog.All(), patterns, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) == 0 {
		t.Fatalf("no case matches %q", patterns)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	reports, err := catalog.RunServerTests(ctx, serve(t, kind), kind.String(), cases, nil)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]catalog.Report{}
	for _, r := range reports {
		byID[r.ID] = r
	}
	if len(byID) != len(cases) {
		t.Fatalf("%d reports for %d cases", len(byID), len(cases))
	}
	return byID
}

// invalidUTF8 are the cases that send text (a message or a close reason)
// that is not valid UTF-8: section 6's invalid vectors and 7.5.1.
var invalidUTF8 = []string{
	"6.3.*", "6.4.*", "6.6.1", "6.6.3", "6.6.4", "6.6.6", "6.6.8", "6.6.10", "6.8.*", "6.10.*",
	"6.11.5", "6.12.*", "6.13.*", "6.14.*", "6.15.1", "6.16.*", "6.17.*", "6.18.*", "6.19.*",
	"6.20.*", "6.21.*", "7.5.1",
}

// TestBrokenPeersFailTheirCases runs the catalog against each broken peer
// and against the sound control: the cases that test the broken rule must
// come out with the verdicts the suite gives such a peer, and every other
// case must come out as it does against the control, so that each peer is
// caught for its own fault and nothing else.
func TestBrokenPeersFailTheirCases(t *testing.T) {
	if testing.Short() {
		t.Skip("runs whole sections of the catalog")
	}
	type verdicts struct{ behavior, close []catalog.Verdict }
	any := []catalog.Verdict(nil)
	tests := []struct {
		kind brokenpeers.Kind
		// run is what is run; rule is the cases that test the broken
		// rule, each of which must get one of want's verdicts.
		run, rule []string
		want      verdicts
	}{
		{
			kind: brokenpeers.AcceptsInvalidUTF8,
			run:  append([]string{"6.*"}, "7.5.1"),
			rule: invalidUTF8,
			// The text comes back instead of a 1007 close: the fuzzer
			// closes (the wrong endpoint), which section 6 rates FAILED.
			want: verdicts{[]catalog.Verdict{catalog.Failed}, []catalog.Verdict{catalog.Failed, catalog.WrongCode}},
		},
		{
			kind: brokenpeers.WrongCloseCode,
			run:  []string{"7.*"},
			// An invalid code (7.9.x) or reason (7.5.1) must be
			// answered with 1002 or 1007; 7.7.x allow 1000.
			rule: []string{"7.5.1", "7.9.*"},
			want: verdicts{any, []catalog.Verdict{catalog.WrongCode}},
		},
		{
			kind: brokenpeers.IgnoresReserved,
			run:  []string{"3.*", "4.*"},
			// Not 3.7: its close frame with RSV = 7 has no payload, so
			// a peer that ignores the bits answers with an empty close
			// of its own, which the suite (and the catalog) rate OK.
			rule: []string{"3.1", "3.2", "3.3", "3.4", "3.5", "3.6", "4.*"},
			// The peer never fails the connection: the fuzzer does.
			want: verdicts{any, []catalog.Verdict{catalog.Failed}},
		},
		{
			kind: brokenpeers.WrongPongPayload,
			run:  []string{"2.*", "5.*"},
			rule: []string{"2.1", "2.2", "2.3", "2.4", "2.6", "2.9", "2.10", "2.11", "5.6", "5.7", "5.8", "5.19", "5.20"},
			want: verdicts{[]catalog.Verdict{catalog.Failed}, any},
		},
		{
			kind: brokenpeers.NeverClosesTCP,
			run:  []string{"1.1.1", "2.5", "3.1", "5.1", "7.1.1", "7.3.1", "7.9.1", "9.1.1", "10.1.1"},
			rule: []string{"1.1.1", "2.5", "3.1", "5.1", "7.1.1", "7.3.1", "7.9.1", "9.1.1", "10.1.1"},
			// The fuzzer drops TCP itself: UNCLEAN where the case
			// requires a clean close, FAILED BY CLIENT elsewhere.
			want: verdicts{any, []catalog.Verdict{catalog.Unclean, catalog.FailedByClient}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.kind.String(), func(t *testing.T) {
			t.Parallel()
			got := run(t, tt.kind, tt.run)
			control := run(t, brokenpeers.Sound, tt.run)
			ruleCases, err := catalog.Select(catalog.All(), tt.rule, nil)
			if err != nil {
				t.Fatal(err)
			}
			inRule := map[string]bool{}
			for _, c := range ruleCases {
				inRule[c.ID] = true
			}
			for id, r := range got {
				c := control[id]
				if !inRule[id] {
					if r.Behavior != c.Behavior || r.BehaviorClose != c.BehaviorClose {
						t.Errorf("%s (not about the broken rule): %s / %s, the control got %s / %s",
							id, r.Behavior, r.BehaviorClose, c.Behavior, c.BehaviorClose)
					}
					continue
				}
				if r.Strict() {
					t.Errorf("%s: %s / %s: the broken peer passes", id, r.Behavior, r.BehaviorClose)
				}
				if tt.want.behavior != nil && !slices.Contains(tt.want.behavior, r.Behavior) {
					t.Errorf("%s: behavior %s (%s), want one of %v", id, r.Behavior, r.Result.Result, tt.want.behavior)
				}
				if tt.want.close != nil && !slices.Contains(tt.want.close, r.BehaviorClose) {
					t.Errorf("%s: close %s (%s), want one of %v", id, r.BehaviorClose, r.ResultClose, tt.want.close)
				}
				// The control validates text frame by frame, which 6.4.3
				// and 6.4.4 rate NON-STRICT; it must not fail.
				if c.Failed() || c.Behavior == catalog.Unimplemented {
					t.Errorf("%s: the control fails it too (%s / %s), so the case proves nothing here", id, c.Behavior, c.BehaviorClose)
				}
			}
			for id := range inRule {
				if _, ok := got[id]; !ok {
					t.Errorf("rule case %s was not run", id)
				}
			}
		})
	}
}

// TestNeverClosesTCPIsUncleanWhereACleanCloseIsRequired pins the close
// verdict of cases whose outcome does not depend on which of two timers
// fires first: 9.1.1 and 9.7.1 require a clean close and have no kill
// timer, so the fuzzer's wait for the server to drop TCP ends them
// UNCLEAN; 2.5 does not require a clean close, so the fuzzer dropping TCP
// itself is FAILED BY CLIENT. (Cases like 7.1.1 race their one-second kill
// timer against the one-second drop timeout, in the original as here.)
func TestNeverClosesTCPIsUncleanWhereACleanCloseIsRequired(t *testing.T) {
	if testing.Short() {
		t.Skip("runs catalog cases with timeouts")
	}
	got := run(t, brokenpeers.NeverClosesTCP, []string{"2.5", "9.1.1", "9.7.1"})
	for id, want := range map[string]catalog.Verdict{
		"2.5":   catalog.FailedByClient,
		"9.1.1": catalog.Unclean,
		"9.7.1": catalog.Unclean,
	} {
		if r := got[id]; r.BehaviorClose != want || r.Behavior != catalog.OK {
			t.Errorf("%s: %s / %s, want OK / %s", id, r.Behavior, r.BehaviorClose, want)
		}
	}
}
