package harness

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestMain lets this test binary serve as the echo server processes the
// harness starts.
func TestMain(m *testing.M) {
	if IsServerProcess() {
		args := os.Args[1:]
		if len(args) > 0 && args[0] == "serve" {
			args = args[1:]
		}
		os.Exit(ServerMain(args))
	}
	os.Exit(m.Run())
}

// quickest is the shortest configuration that still goes through every
// kind of case.
func quickest() Config {
	return Config{
		Libs:             []string{"ours", "gorilla"},
		Runs:             2,
		WarmUp:           50 * time.Millisecond,
		Window:           200 * time.Millisecond,
		EchoConns:        []int{1, 8},
		EchoSizes:        []int{16, 64 << 10},
		IdleConns:        200,
		HandshakeWorkers: 2,
		DeflateConns:     4,
		DeflateSizes:     []int{1 << 10},
		DeflateIdleConns: 20,
		DialConcurrency:  16,
		Settle:           100 * time.Millisecond,
	}
}

func TestRunMeasuresEveryKindOfCaseAndPrintsRatios(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	cfg := quickest()
	var progress strings.Builder
	cfg.Progress = &progress
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range res.Samples {
		if s.Err != "" {
			t.Errorf("run %d %s %s/%s: %s", s.Run, s.Lib, s.Section, s.Case, s.Err)
		}
		measured := s.Ops > 0
		if s.Section == SecIdle || strings.HasPrefix(s.Case, "idle") {
			measured = s.Mem != 0
		}
		if !measured {
			t.Errorf("run %d %s %s/%s measured nothing", s.Run, s.Lib, s.Section, s.Case)
		}
	}
	// ours: 4 echo + handshake + idle + 2 deflate modes × (1 echo + idle);
	// gorilla the same without context takeover; two runs.
	if want := 2 * ((4 + 1 + 1 + 2*2) + (4 + 1 + 1 + 2)); len(res.Samples) != want {
		t.Errorf("%d samples, want %d", len(res.Samples), want)
	}
	var out strings.Builder
	res.WriteMarkdown(&out, "test")
	for _, want := range []string{
		"### Server CPU time per echoed message",
		"| 8x64KiB ",
		"ours/gorilla",
		"ours/best",
		"### Server memory per idle connection",
		"### Server CPU time per handshake",
		"## Echo with permessage-deflate, server context takeover",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	if n := strings.Count(progress.String(), "\n"); n != len(res.Samples) {
		t.Errorf("%d progress lines for %d samples", n, len(res.Samples))
	}
	t.Logf("\n%s", out.String())
}

func TestCasesFilterSelectsByID(t *testing.T) {
	cfg := quickest()
	cfg.Runs = 1
	cfg.Cases = regexp.MustCompile(`^echo/8x|^handshake`)
	var ids []string
	for _, s := range cfg.plan() {
		if s.idle != nil {
			ids = append(ids, s.lib+" "+s.idle.id())
		}
		for _, c := range s.cases {
			ids = append(ids, s.lib+" "+c.id())
		}
	}
	want := "ours echo/8x16B,ours echo/8x64KiB,ours handshake/2,gorilla echo/8x16B,gorilla echo/8x64KiB,gorilla handshake/2"
	if got := strings.Join(ids, ","); got != want {
		t.Errorf("plan %s, want %s", got, want)
	}
}

func TestPlanAlternatesTheOrderOfLibraries(t *testing.T) {
	cfg := quickest()
	cfg.Runs = 3
	cfg.Cases = regexp.MustCompile(`^handshake`)
	var order []string
	for _, s := range cfg.plan() {
		order = append(order, fmt.Sprint(s.run, s.lib))
	}
	want := "1ours,1gorilla,2gorilla,2ours,3ours,3gorilla"
	if got := strings.Join(order, ","); got != want {
		t.Errorf("plan %s, want %s", got, want)
	}
}

func TestRunRejectsUnknownLibrary(t *testing.T) {
	cfg := quickest()
	cfg.Libs = []string{"nope"}
	if _, err := Run(context.Background(), cfg); err == nil {
		t.Error("Run accepted an unknown library")
	}
}

func TestCPUTimeAndRSSOfThisProcess(t *testing.T) {
	pid := os.Getpid()
	if _, err := cpuTime(pid); err != nil {
		t.Fatal(err)
	}
	if n, err := rss(pid); err != nil || n <= 0 {
		t.Fatalf("rss = %d, %v", n, err)
	}
}

// TestReportComparesTheChosenServerWithTheBestOfTheOthers: with Ref "loop"
// the ratio columns divide loop's figures, and "best" includes ours (the
// goroutine driver of the same library) besides the other libraries.
func TestReportComparesTheChosenServerWithTheBestOfTheOthers(t *testing.T) {
	res := &Results{Config: quickest()}
	res.Config.Libs = []string{"ours", "loop", "nbio"}
	res.Config.Ref = "loop"
	res.Config.Runs = 1
	for lib, cpu := range map[string]time.Duration{"ours": 2 * time.Microsecond, "loop": 3 * time.Microsecond, "nbio": 4 * time.Microsecond} {
		res.Samples = append(res.Samples, Sample{Section: SecEcho, Case: "8x16B", Lib: lib, Run: 1, Size: 16, Ops: 100, Rate: 1000, CPU: cpu, Conns: 8})
	}
	var out strings.Builder
	res.WriteMarkdown(&out, "test")
	for _, want := range []string{"loop/ours", "loop/nbio", "loop/best", "the best of ours, gorilla"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	// The CPU row: loop/ours, loop/nbio, loop/best (best = ours).
	if !regexp.MustCompile(`\| 8x16B \| 2\.00 \| 3\.00 \| 4\.00 \| +1\.50 \| +0\.75 \| +1\.50 \|`).MatchString(out.String()) {
		t.Errorf("report lacks the CPU row with loop's ratios:\n%s", out.String())
	}
	if strings.Contains(out.String(), "ours/") {
		t.Errorf("report divides ours's figures though the reference is loop:\n%s", out.String())
	}
}
