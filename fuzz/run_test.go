// Package fuzz holds the runner of the module's fuzz targets (run.sh) and
// its tests; the targets themselves live next to the code they fuzz.
package fuzz

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// scratchModule makes a module in a temporary directory with a copy of
// run.sh as its fuzz/run.sh and the given packages, each a directory name
// and the file of testdata/crasher it takes its test from. The deliberately
// failing target lives only there, never in this module's normal set.
func scratchModule(t *testing.T, pkgs map[string]string) string {
	t.Helper()
	root := t.TempDir()
	copyFile(t, "run.sh", filepath.Join(root, "fuzz", "run.sh"))
	copyFile(t, "testdata/crasher/go.mod.txt", filepath.Join(root, "go.mod"))
	for dir, src := range pkgs {
		copyFile(t, filepath.Join("testdata/crasher", src), filepath.Join(root, dir, strings.TrimSuffix(src, ".txt")))
	}
	return root
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// runScript runs bash root/fuzz/run.sh args and returns its output and
// exit status.
func runScript(t *testing.T, root string, args ...string) (string, int) {
	t.Helper()
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	cmd := exec.Command(bash, append([]string{filepath.Join(root, "fuzz", "run.sh")}, args...)...)
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local", "GOFLAGS=", "GOWORK=off", "FUZZ_FLAGS=", "FUZZ_DEFAULT_BUDGET=")
	out, err := cmd.CombinedOutput()
	status := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("running run.sh: %v", err)
		}
		status = ee.ExitCode()
	}
	return string(out), status
}

// TestRunFailsOnAFoundCrasher: a target whose fuzzing finds a failing input
// fails the run (exit status 1) with the input written and named, under an
// execution-count budget as CI uses, while a sound target beside it passes.
func TestRunFailsOnAFoundCrasher(t *testing.T) {
	t.Parallel()
	root := scratchModule(t, map[string]string{"crash": "crash_test.go.txt", "fine": "fine_test.go.txt"})
	out, status := runScript(t, root, "20000x")
	t.Log("\n" + out)
	if status != 1 {
		t.Errorf("exit status %d, want 1", status)
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^FAIL +FuzzCrash +\./crash `),
		regexp.MustCompile(`(?m)^ok +FuzzFine +\./fine +\d+ execs`),
		regexp.MustCompile(`(?m)new failing input: \./crash/testdata/fuzz/FuzzCrash/[0-9a-f]+ \(replay: go test -run 'FuzzCrash/[0-9a-f]+' \./crash\)`),
		regexp.MustCompile(`(?m)^fuzz: 2 targets, 1 failed$`),
	} {
		if !want.MatchString(out) {
			t.Errorf("output does not match %q", want)
		}
	}
	written, _ := filepath.Glob(filepath.Join(root, "crash", "testdata", "fuzz", "FuzzCrash", "*"))
	if len(written) != 1 {
		t.Errorf("failing inputs written: %v, want one", written)
	}
}

// TestRunFailsOnAFailingSeed: a target that fails without the fuzzer
// writing anything (here a committed input that fails) still fails the run,
// and the output says no new input was written.
func TestRunFailsOnAFailingSeed(t *testing.T) {
	t.Parallel()
	root := scratchModule(t, map[string]string{"crash": "crash_test.go.txt"})
	seed := filepath.Join(root, "crash", "testdata", "fuzz", "FuzzCrash", "committed")
	if err := os.MkdirAll(filepath.Dir(seed), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(seed, []byte("go test fuzz v1\n[]byte(\"zz\")\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, status := runScript(t, root, "1000x")
	t.Log("\n" + out)
	if status != 1 {
		t.Errorf("exit status %d, want 1", status)
	}
	if !strings.Contains(out, "no new failing input was written") || !strings.Contains(out, "fuzz: 1 targets, 1 failed") {
		t.Error("output does not report the failure without a new input")
	}
}

// TestRunUsesTheBudgetsFile: without an argument each target runs the
// execution count fuzz/budgets gives it, and the run reports that count.
func TestRunUsesTheBudgetsFile(t *testing.T) {
	t.Parallel()
	root := scratchModule(t, map[string]string{"fine": "fine_test.go.txt"})
	if err := os.WriteFile(filepath.Join(root, "fuzz", "budgets"), []byte("# comment\n./fine FuzzFine 3000x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, status := runScript(t, root, "-l")
	if status != 0 || strings.Fields(out)[2] != "3000x" {
		t.Fatalf("listing (status %d):\n%s", status, out)
	}
	out, status = runScript(t, root)
	t.Log("\n" + out)
	m := regexp.MustCompile(`(?m)^ok +FuzzFine +\./fine +(\d+) execs`).FindStringSubmatch(out)
	if status != 0 || m == nil {
		t.Fatalf("exit status %d, want 0 and an ok line", status)
	}
	// The coordinator stops at the count; inputs it minimizes on the way
	// may add a few executions (150021 for a budget of 150000 was seen).
	if n, _ := strconv.Atoi(m[1]); n < 3000 || n > 3300 {
		t.Errorf("ran %d inputs, want the budget's 3000", n)
	}
}

// TestNormalSetIsEveryTargetWithACountBudget lists the targets the CI runs
// (run.sh without a budget): exactly the Fuzz functions of this module's
// packages, bench/ and the deliberate crasher of the tests above excluded,
// each with an execution-count budget, so that no CI run depends on a
// -fuzztime deadline.
func TestNormalSetIsEveryTargetWithACountBudget(t *testing.T) {
	t.Parallel()
	out, status := runScript(t, "..", "-l")
	if status != 0 {
		t.Fatalf("run.sh -l: status %d\n%s", status, out)
	}
	var listed []string
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 3 {
			t.Fatalf("listing line %q", sc.Text())
		}
		if !regexp.MustCompile(`^[1-9][0-9]*x$`).MatchString(f[2]) {
			t.Errorf("%s %s: budget %q is not an execution count", f[0], f[1], f[2])
		}
		listed = append(listed, f[0]+" "+f[1])
	}

	// The Fuzz functions in the module's test files, found independently.
	var want []string
	decl := regexp.MustCompile(`(?m)^func (Fuzz\w*)\(\w+ \*testing\.F\)`)
	err := filepath.WalkDir("..", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != ".." {
				if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
					return filepath.SkipDir // a module of its own (bench, natsbroker)
				}
				if n := d.Name(); n == "testdata" || strings.HasPrefix(n, ".") || strings.HasPrefix(n, "_") {
					return filepath.SkipDir
				}
			}
			return nil
		}
		if !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		pkg := "./" + filepath.ToSlash(filepath.Dir(strings.TrimPrefix(path, "../")))
		if filepath.Dir(path) == ".." {
			pkg = "."
		}
		for _, m := range decl.FindAllSubmatch(b, -1) {
			want = append(want, pkg+" "+string(m[1]))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(listed)
	slices.Sort(want)
	want = slices.Compact(want)
	if !slices.Equal(listed, want) {
		t.Errorf("run.sh lists\n%s\nwant\n%s", strings.Join(listed, "\n"), strings.Join(want, "\n"))
	}
	if len(want) < 5 {
		t.Errorf("only %d targets found: %v", len(want), want)
	}
	for _, l := range listed {
		if strings.Contains(l, "FuzzCrash") || strings.Contains(l, "FuzzFine") {
			t.Errorf("the runner's own test target %q is in the normal set", l)
		}
	}
}
