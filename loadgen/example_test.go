package loadgen_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/rfc6455/ws"
	"github.com/rfc6455/ws/loadgen"
	"github.com/rfc6455/ws/server"
)

// An echo server to load, on a port of its own.
func startEcho() (url string, stop func()) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	srv := &http.Server{Handler: server.Handler(func(c *ws.Conn) {
		var buf []byte
		for {
			typ, msg, err := c.ReadMessage(context.Background(), buf)
			if err != nil || c.WriteMessage(context.Background(), typ, msg) != nil {
				return
			}
			buf = msg
		}
	})}
	go srv.Serve(ln)
	return "ws://" + ln.Addr().String() + "/", func() { srv.Close() }
}

func Example() {
	url, stop := startEcho()
	defer stop()

	res, err := loadgen.Run(context.Background(), loadgen.Config{
		URL:         url,
		Connections: 4,
		Size:        1024,
		Messages:    1000,             // stop after 1000 round trips in all,
		Duration:    10 * time.Second, // or 10 s, whichever comes first
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d connections, %d round trips, %d errors\n", res.Connected, res.Messages, res.ErrorTotal())
	fmt.Println("latencies recorded:", res.Latency.Count())
	// res.WriteText(os.Stdout) prints the whole report.

	// Output:
	// 4 connections, 1000 round trips, 0 errors
	// latencies recorded: 1000
}

func ExampleHistogram() {
	var h loadgen.Histogram
	for i := 1; i <= 1000; i++ {
		h.Record(time.Duration(i) * time.Microsecond)
	}
	fmt.Println("count:", h.Count())
	fmt.Println("p50:  ", loadgen.Round(h.Quantile(0.5)))
	fmt.Println("p99:  ", loadgen.Round(h.Quantile(0.99)))
	fmt.Println("max:  ", h.Max())
	// Output:
	// count: 1000
	// p50:   502µs
	// p99:   987µs
	// max:   1ms
}

func ExampleParseSize() {
	for _, s := range []string{"512", "1KiB", "1.5MB", "64k"} {
		n, _ := loadgen.ParseSize(s)
		fmt.Println(s, "=", n)
	}
	// Output:
	// 512 = 512
	// 1KiB = 1024
	// 1.5MB = 1500000
	// 64k = 64000
}
