package harness

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"
)

// others are the other libraries; "best of the others" is taken from them
// (the floor is a bound, not a library).
var others = []string{"gorilla", "coder", "gobwas", "gws", "nbio"}

// competitorsOf returns the libraries "best" is taken from for ref: the
// others, and for another driver of this library (loop, oursconn) its
// goroutine driver, ours, as well: issue 16 compares the event loop with
// the best of the six.
func competitorsOf(ref string) []string {
	if ref == "loop" || ref == "oursconn" {
		return append([]string{"ours"}, others...)
	}
	return others
}

// metric is one figure of a sample, for a table.
type metric struct {
	title       string
	unit        string
	lowerBetter bool
	value       func(*Sample) float64 // NaN: not measured
	format      func(float64) string
}

var (
	mCPU = metric{"Server CPU time per echoed message", "µs", true,
		func(s *Sample) float64 { return opsValue(s, float64(s.CPU)/1e3) }, sig}
	mCalls = metric{"Server read and write system calls per echoed message", "calls", true,
		func(s *Sample) float64 { return opsValue(s, s.Syscalls) }, sig}
	mRate = metric{"Echo throughput", "messages/s", false,
		func(s *Sample) float64 { return opsValue(s, s.Rate) }, sigK}
	mMBps = metric{"Echo throughput", "payload MB/s each way", false,
		func(s *Sample) float64 { return opsValue(s, s.MBps) }, sig}
	mP50 = metric{"Round-trip latency, median", "µs", true,
		func(s *Sample) float64 { return opsValue(s, float64(s.P50)/1e3) }, sig}
	mP99 = metric{"Round-trip latency, 99th percentile", "µs", true,
		func(s *Sample) float64 { return opsValue(s, float64(s.P99)/1e3) }, sig}
	mMem = metric{"Server memory per idle connection", "KiB", true,
		func(s *Sample) float64 {
			if s.Err != "" {
				return math.NaN()
			}
			return s.Mem / 1024
		}, sig}
	mMemGC = metric{"Server memory per idle connection after a GC", "KiB", true,
		func(s *Sample) float64 {
			if s.Err != "" || s.MemGC == 0 {
				return math.NaN()
			}
			return s.MemGC / 1024
		}, sig}
	mHSCPU = metric{"Server CPU time per handshake", "µs", true,
		func(s *Sample) float64 { return opsValue(s, float64(s.CPU)/1e3) }, sig}
	mHSRate = metric{"Handshakes", "per second", false,
		func(s *Sample) float64 { return opsValue(s, s.Rate) }, sigK}
)

// opsValue is v, or NaN when the sample measured nothing.
func opsValue(s *Sample, v float64) float64 {
	if s.Ops == 0 {
		return math.NaN()
	}
	return v
}

// table is one metric over the cases of a section (or of one case set).
type table struct {
	section string
	m       metric
	filter  func(*Sample) bool
}

func (res *Results) tables() []table {
	isIdle := func(s *Sample) bool { return s.Mem != 0 || strings.HasPrefix(s.Case, "idle") || s.Section == SecIdle }
	notIdle := func(s *Sample) bool { return !isIdle(s) }
	var ts []table
	ts = append(ts,
		table{SecEcho, mCPU, nil},
		table{SecEcho, mCalls, nil},
		table{SecEcho, mRate, nil},
		table{SecEcho, mMBps, nil},
		table{SecEcho, mP50, nil},
		table{SecEcho, mP99, nil},
		table{SecIdle, mMem, nil},
		table{SecIdle, mMemGC, nil},
		table{SecHandshake, mHSCPU, nil},
		table{SecHandshake, mHSRate, nil},
	)
	for _, sec := range []string{SecDeflateNC, SecDeflateCT} {
		ts = append(ts,
			table{sec, mCPU, notIdle},
			table{sec, mCalls, notIdle},
			table{sec, mRate, notIdle},
			table{sec, mP99, notIdle},
			table{sec, mMem, isIdle},
			table{sec, mMemGC, isIdle},
		)
	}
	return ts
}

var sectionTitles = map[string]string{
	SecEcho:      "Echo, binary messages",
	SecIdle:      "Idle connections",
	SecHandshake: "Opening handshakes",
	SecDeflateNC: "Echo with permessage-deflate, no context takeover (JSON text)",
	SecDeflateCT: "Echo with permessage-deflate, server context takeover (JSON text)",
}

// WriteMarkdown writes the header and every table.
func (res *Results) WriteMarkdown(w io.Writer, command string) {
	cfg := &res.Config
	fmt.Fprintf(w, "Machine: %d CPUs, %s. Date: %s. Load average (1, 5, 15 min) %s at the start, %s at the end.\n\n",
		res.NumCPU, res.CPUModel, res.Start.UTC().Format("2006-01-02 15:04 MST"), res.LoadStart, res.LoadEnd)
	fmt.Fprintf(w, "Command: `%s` (%d run(s) of every case, %s warm-up + %s window per cell; took %s).\n\n",
		command, cfg.Runs, cfg.WarmUp, cfg.Window, res.End.Sub(res.Start).Round(time.Second))
	ref := cfg.Ref
	if ref == "" {
		ref = "ours"
	}
	if !slices.Contains(cfg.Libs, ref) && len(cfg.Libs) > 0 {
		ref = cfg.Libs[0]
	}
	fmt.Fprintf(w, "Each cell gives run 1 / run 2 / ...; `%s/X` is %s's figure divided by X's from the same run, "+
		"`%s/best` divides by the best of %s in that run. "+
		"Below 1 is better for %s where lower is better, above 1 where higher is better.\n",
		ref, ref, ref, strings.Join(competitorsOf(ref), ", "), ref)
	section := ""
	for _, t := range res.tables() {
		if !res.has(t) {
			continue
		}
		if t.section != section {
			section = t.section
			fmt.Fprintf(w, "\n## %s\n", sectionTitles[section])
		}
		res.writeTable(w, t, ref)
	}
	res.writeLosses(w, ref)
	res.writeErrors(w)
}

func (res *Results) samples(t table) []*Sample {
	var out []*Sample
	for i := range res.Samples {
		s := &res.Samples[i]
		if s.Section == t.section && (t.filter == nil || t.filter(s)) {
			out = append(out, s)
		}
	}
	return out
}

func (res *Results) has(t table) bool { return len(res.samples(t)) > 0 }

// grid arranges a table's samples: cases in order of first appearance,
// libraries in the configured order, runs in order.
type grid struct {
	cases []string
	libs  []string
	runs  int
	v     map[string]map[string][]float64 // case → lib → value per run
}

func (res *Results) grid(t table) *grid {
	g := &grid{v: map[string]map[string][]float64{}}
	for _, s := range res.samples(t) {
		if !slices.Contains(g.cases, s.Case) {
			g.cases = append(g.cases, s.Case)
			g.v[s.Case] = map[string][]float64{}
		}
		g.runs = max(g.runs, s.Run)
		vs := g.v[s.Case][s.Lib]
		for len(vs) < s.Run {
			vs = append(vs, math.NaN())
		}
		vs[s.Run-1] = t.m.value(s)
		g.v[s.Case][s.Lib] = vs
	}
	for _, lib := range res.Config.Libs {
		for _, c := range g.cases {
			if _, ok := g.v[c][lib]; ok {
				g.libs = append(g.libs, lib)
				break
			}
		}
	}
	return g
}

func (g *grid) at(c, lib string, run int) float64 {
	vs := g.v[c][lib]
	if run >= len(vs) {
		return math.NaN()
	}
	return vs[run]
}

// best returns the best competitor's value for case c in run, and its name.
func (g *grid) best(c, ref string, run int, lowerBetter bool) (float64, string) {
	bv, bl := math.NaN(), ""
	for _, lib := range competitorsOf(ref) {
		v := g.at(c, lib, run)
		if math.IsNaN(v) {
			continue
		}
		if math.IsNaN(bv) || (lowerBetter && v < bv) || (!lowerBetter && v > bv) {
			bv, bl = v, lib
		}
	}
	return bv, bl
}

func (res *Results) writeTable(w io.Writer, t table, ref string) {
	g := res.grid(t)
	better := "higher is better"
	if t.m.lowerBetter {
		better = "lower is better"
	}
	fmt.Fprintf(w, "\n### %s (%s, %s)\n\n", t.m.title, t.m.unit, better)
	head := []string{"case"}
	head = append(head, g.libs...)
	var others []string
	withBest := false
	if slices.Contains(g.libs, ref) {
		for _, lib := range g.libs {
			if lib != ref {
				others = append(others, lib)
				head = append(head, ref+"/"+lib)
				withBest = withBest || slices.Contains(competitorsOf(ref), lib)
			}
		}
		if withBest {
			head = append(head, ref+"/best")
		}
	}
	rows := [][]string{head}
	for _, c := range g.cases {
		row := []string{c}
		for _, lib := range g.libs {
			var vs []string
			for run := range g.runs {
				vs = append(vs, fmtVal(g.at(c, lib, run), t.m.format))
			}
			row = append(row, strings.Join(vs, " / "))
		}
		for _, lib := range others {
			var vs []string
			for run := range g.runs {
				vs = append(vs, fmtRatio(g.at(c, ref, run)/g.at(c, lib, run)))
			}
			row = append(row, strings.Join(vs, " / "))
		}
		if withBest {
			var vs []string
			for run := range g.runs {
				bv, _ := g.best(c, ref, run, t.m.lowerBetter)
				vs = append(vs, fmtRatio(g.at(c, ref, run)/bv))
			}
			row = append(row, strings.Join(vs, " / "))
		}
		rows = append(rows, row)
	}
	writeRows(w, rows)
}

// writeLosses lists where the reference library is behind the best
// competitor in every run by more than 5%.
func (res *Results) writeLosses(w io.Writer, ref string) {
	var lines []string
	for _, t := range res.tables() {
		if !res.has(t) {
			continue
		}
		g := res.grid(t)
		if !slices.Contains(g.libs, ref) {
			continue
		}
		for _, c := range g.cases {
			behind := g.runs > 0
			var desc []string
			for run := range g.runs {
				v := g.at(c, ref, run)
				bv, bl := g.best(c, ref, run, t.m.lowerBetter)
				r := v / bv
				if math.IsNaN(r) || (t.m.lowerBetter && r <= 1.05) || (!t.m.lowerBetter && r >= 0.95) {
					behind = false
					break
				}
				desc = append(desc, fmt.Sprintf("%s vs %s %s (%s)", t.m.format(v), bl, t.m.format(bv), fmtRatio(r)))
			}
			if behind {
				lines = append(lines, fmt.Sprintf("- %s %s, %s (%s): %s", t.section, c, strings.ToLower(t.m.title), t.m.unit, strings.Join(desc, "; ")))
			}
		}
	}
	fmt.Fprintf(w, "\n## Where %s is behind the best other library by more than 5%% in every run\n\n", ref)
	if len(lines) == 0 {
		fmt.Fprintln(w, "Nowhere.")
		return
	}
	for _, l := range lines {
		fmt.Fprintln(w, l)
	}
}

func (res *Results) writeErrors(w io.Writer) {
	var lines []string
	for _, s := range res.Samples {
		if s.Err != "" {
			lines = append(lines, fmt.Sprintf("- run %d %s %s/%s: %d errors, first: %s", s.Run, s.Lib, s.Section, s.Case, s.Errors, s.Err))
		}
	}
	if len(lines) == 0 {
		return
	}
	fmt.Fprintf(w, "\n## Errors\n\n")
	for _, l := range lines {
		fmt.Fprintln(w, l)
	}
}

// writeRows writes a Markdown table with aligned columns.
func writeRows(w io.Writer, rows [][]string) {
	width := make([]int, len(rows[0]))
	for _, r := range rows {
		for i, c := range r {
			width[i] = max(width[i], len([]rune(c)))
		}
	}
	line := func(r []string) {
		var b strings.Builder
		b.WriteString("|")
		for i, c := range r {
			pad := width[i] - len([]rune(c))
			if i == 0 {
				fmt.Fprintf(&b, " %s%s |", c, strings.Repeat(" ", pad))
			} else {
				fmt.Fprintf(&b, " %s%s |", strings.Repeat(" ", pad), c)
			}
		}
		fmt.Fprintln(w, b.String())
	}
	line(rows[0])
	sep := make([]string, len(width))
	for i, n := range width {
		if i == 0 {
			sep[i] = strings.Repeat("-", n)
		} else {
			sep[i] = strings.Repeat("-", n-1) + ":"
		}
	}
	fmt.Fprintln(w, "| "+strings.Join(sep, " | ")+" |")
	for _, r := range rows[1:] {
		line(r)
	}
}

func fmtVal(v float64, f func(float64) string) string {
	if math.IsNaN(v) {
		return "–"
	}
	return f(v)
}

func fmtRatio(r float64) string {
	if math.IsNaN(r) || math.IsInf(r, 0) {
		return "–"
	}
	return fmt.Sprintf("%.2f", r)
}

// sig formats v with three significant digits.
func sig(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	case a >= 1:
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.3f", v)
	}
}

// sigK formats a count with k or M and three significant digits.
func sigK(v float64) string {
	switch {
	case v >= 1e6:
		return sig(v/1e6) + "M"
	case v >= 1e3:
		return sig(v/1e3) + "k"
	}
	return sig(v)
}

// fmtDur formats a duration for progress lines.
func fmtDur(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return sig(float64(d)/1e3) + "µs"
	case d < time.Second:
		return sig(float64(d)/1e6) + "ms"
	}
	return sig(d.Seconds()) + "s"
}
