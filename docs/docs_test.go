// Package docs holds the project's guides; its test checks that the
// runnable examples they point to exist.
package docs

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestMigratingGuideExamplesExist: every example the guide names
// (`pkg.ExampleName` or `pkg.Example_suffix`) is a function of that
// package's tests, so that the guide's "runnable example" column stays
// true.
func TestMigratingGuideExamplesExist(t *testing.T) {
	guide, err := os.ReadFile("MIGRATING.md")
	if err != nil {
		t.Fatal(err)
	}
	dirs := map[string]string{"ws": ".."}
	refs := regexp.MustCompile("`(\\w+)\\.(Example\\w*)`").FindAllStringSubmatch(string(guide), -1)
	if len(refs) < 8 {
		t.Fatalf("only %d examples named in the guide", len(refs))
	}
	for _, ref := range refs {
		pkg, name := ref[1], ref[2]
		dir, ok := dirs[pkg]
		if !ok {
			dir = filepath.Join("..", pkg)
		}
		files, _ := filepath.Glob(filepath.Join(dir, "*_test.go"))
		found := false
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(b), "\nfunc "+name+"() {") {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("the guide names %s.%s, which %s does not have", pkg, name, dir)
		}
	}
}
