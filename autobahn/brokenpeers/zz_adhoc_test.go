package brokenpeers

import (
	"context"
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	"github.com/rfc6455/ws/autobahn/catalog"
)

func TestAdhoc(t *testing.T) {
	pat := os.Getenv("ADHOC_CASES")
	if pat == "" {
		t.Skip()
	}
	for _, kind := range Kinds {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		go Serve(ln, kind)
		cases, err := catalog.Select(catalog.All(), []string{pat}, nil)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		reps, err := catalog.RunServerTests(context.Background(), "ws://"+ln.Addr().String()+"/", "x", cases, nil)
		if err != nil {
			t.Log(err)
		}
		n := 0
		for _, r := range reps {
			if !r.Strict() {
				n++
				if os.Getenv("ADHOC_V") != "" {
					fmt.Printf("%s %s: %s / %s  %s | %s\n", kind, r.ID, r.Behavior, r.BehaviorClose, r.Result.Result, r.ResultClose)
				}
			}
		}
		fmt.Printf("== %s: %d cases, %d not strict, %v\n", kind, len(reps), n, time.Since(start))
		ln.Close()
	}
}
