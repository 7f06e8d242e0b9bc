package main

import (
	"fmt"
	"slices"
	"strings"
)

// figure is one row of the report.
type figure struct {
	key, title string
	lower      bool // lower is better
	ratio      bool // print our ratio to the others
}

var figures = []figure{
	{"broadcast-rate", "broadcast to 1,000 sockets: deliveries/s", false, true},
	{"broadcast-cpu", "broadcast: server CPU per delivery (µs)", true, true},
	{"broadcast-server", "broadcast: server CPU use (% of one core)", false, false},
	{"broadcast-client", "broadcast: load client CPU use (% of one core)", false, false},
	{"echo-rate", "echo with ack, 64 sockets: acks/s", false, true},
	{"echo-p50", "echo: p50 latency (µs)", true, true},
	{"echo-p99", "echo: p99 latency (µs)", true, true},
	{"echo-cpu", "echo: server CPU per ack (µs)", true, true},
	{"echo-server", "echo: server CPU use (% of one core)", false, false},
	{"echo-client", "echo: load client CPU use (% of one core)", false, false},
	{"idle-ws", "memory per idle socket, 10,000 on WebSocket (KiB)", true, true},
	{"idle-polling", "memory per idle socket, 1,000 on polling (KiB)", true, true},
}

// report collects each figure's value per server and pass.
type report struct {
	servers        []string
	passes         int
	values         map[string]map[string][]float64 // figure → server → per pass
	header, footer string
}

func (r *report) add(key, server string, v float64) {
	if r.values[key] == nil {
		r.values[key] = map[string][]float64{}
	}
	r.values[key][server] = append(r.values[key][server], v)
}

func num(v float64) string {
	switch {
	case v >= 100_000:
		return fmt.Sprintf("%.0fk", v/1000)
	case v >= 10_000:
		return fmt.Sprintf("%.1fk", v/1000)
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

func cell(vs []float64, f func(float64) string) string {
	if len(vs) == 0 {
		return "–"
	}
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = f(v)
	}
	return strings.Join(parts, " / ")
}

func (r *report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s.\n\n", r.header)
	// Each of our servers (ours, ours-loop) gets a ratio to each other one.
	var ours, others []string
	for _, s := range r.servers {
		if strings.HasPrefix(s, "ours") {
			ours = append(ours, s)
		} else {
			others = append(others, s)
		}
	}
	type pair struct{ a, b string }
	var pairs []pair
	for _, a := range ours {
		for _, o := range others {
			pairs = append(pairs, pair{a, o})
		}
	}
	// The floors against the others: how far below them the machine's
	// system calls alone are (floor: epoll, a read and a write per
	// message; floor-uring: io_uring, one io_uring_enter per loop turn).
	for _, f := range others {
		if !isFloor(f) {
			continue
		}
		for _, o := range others {
			if !isFloor(o) {
				pairs = append(pairs, pair{f, o})
			}
		}
	}
	if slices.Contains(others, "floor") && slices.Contains(others, "floor-uring") {
		pairs = append(pairs, pair{"floor-uring", "floor"})
	}
	cols := append([]string{"figure"}, r.servers...)
	for _, p := range pairs {
		cols = append(cols, p.a+"/"+p.b)
	}
	fmt.Fprintf(&b, "| %s |\n|%s\n", strings.Join(cols, " | "), strings.Repeat(" --- |", len(cols)))
	for _, f := range figures {
		vals := r.values[f.key]
		if vals == nil {
			continue
		}
		row := []string{f.title}
		for _, s := range r.servers {
			row = append(row, cell(vals[s], num))
		}
		for _, p := range pairs {
			if !f.ratio || len(vals[p.a]) == 0 || len(vals[p.b]) == 0 {
				row = append(row, "")
				continue
			}
			var rs []float64
			for i := range min(len(vals[p.a]), len(vals[p.b])) {
				rs = append(rs, vals[p.a][i]/vals[p.b][i])
			}
			row = append(row, cell(rs, func(v float64) string { return fmt.Sprintf("%.2f", v) }))
		}
		fmt.Fprintf(&b, "| %s |\n", strings.Join(row, " | "))
	}
	fmt.Fprintf(&b, "\nEach cell gives pass 1 / pass 2 / ...; a ratio divides our figure by the other server's from the same pass (below 1 is better for ours where lower is better). %s\n", r.footer)
	return b.String()
}
