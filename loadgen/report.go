package loadgen

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"time"
)

// WriteText writes the result as a short report, one "name: value" line per
// item, made to be read by people and parsed by scripts:
//
//	target:     ws://127.0.0.1:8080/ (64 connections, 1KiB binary messages)
//	connected:  64/64 in 4.1ms
//	messages:   412345 round trips in 5s
//	throughput: 82469 msg/s, 84.45 MB/s
//	latency:    p50=702µs p90=1.21ms p99=2.5ms max=14.1ms
//	errors:     0
//
// Throughput counts round trips; MB/s is the payload echoed per second in
// each direction, in units of 10^6 bytes. Durations are rounded to three
// significant digits and parse with time.ParseDuration. When errors happened,
// the errors line is followed by one indented line per kind, with its count.
// An interrupted run adds the line "interrupted: yes"; the target line of a
// compressed one says "permessage-deflate" after the messages.
func (r *Result) WriteText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	kind := "binary"
	if r.Text {
		kind = "text"
	}
	rate := ""
	if r.Rate > 0 {
		rate = ", at most " + strconv.FormatFloat(r.Rate, 'f', -1, 64) + " msg/s"
	}
	if r.Compressed {
		rate = ", permessage-deflate" + rate
	}
	fmt.Fprintf(bw, "target:     %s (%d connections, %s %s messages%s)\n", r.URL, r.Connections, FormatSize(int64(r.Size)), kind, rate)
	fmt.Fprintf(bw, "connected:  %d/%d in %s\n", r.Connected, r.Connections, Round(r.ConnectTime))
	fmt.Fprintf(bw, "messages:   %d round trips in %s\n", r.Messages, Round(r.Elapsed))
	fmt.Fprintf(bw, "throughput: %.0f msg/s, %.2f MB/s\n", r.MessagesPerSecond(), r.BytesPerSecond()/1e6)
	h := r.Latency
	if h == nil {
		h = new(Histogram)
	}
	fmt.Fprintf(bw, "latency:    p50=%s p90=%s p99=%s max=%s\n",
		Round(h.Quantile(0.50)), Round(h.Quantile(0.90)), Round(h.Quantile(0.99)), Round(h.Max()))
	fmt.Fprintf(bw, "errors:     %d\n", r.ErrorTotal())
	for _, e := range r.Errors {
		fmt.Fprintf(bw, "  %8d  %s\n", e.Count, e.Kind)
	}
	if r.Interrupted {
		fmt.Fprintln(bw, "interrupted: yes")
	}
	return bw.Flush()
}

// Round rounds d to three significant digits (583.4µs to 583µs, 1.8346ms to
// 1.83ms, 5.0012s to 5s), for display.
func Round(d time.Duration) time.Duration {
	if d < 1000 && d > -1000 {
		return d
	}
	unit := time.Duration(1)
	for v := d / 1000; v != 0; v /= 10 {
		unit *= 10
	}
	return d.Round(unit)
}
