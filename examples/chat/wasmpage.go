package main

import (
	"bytes"
	_ "embed"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"
)

//go:embed wasm/index.html
var wasmIndex []byte

// wasmPage serves the chat's client written in Go (./wasm) at /wasm/: the
// page, the Go toolchain's wasm_exec.js, and chat.wasm, which it builds
// from the sources with the go command at the first request for it (a
// build artifact is not something to commit). It needs the sources and the
// toolchain, as `go run ./examples/chat` has them.
type wasmPage struct {
	once   sync.Once
	wasm   []byte // chat.wasm
	execJS string // path of wasm_exec.js
	err    error
}

func (p *wasmPage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch strings.TrimPrefix(r.URL.Path, "/wasm/") {
	case "":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(wasmIndex)
	case "wasm_exec.js":
		if p.build(); p.err != nil {
			http.Error(w, p.err.Error(), http.StatusServiceUnavailable)
			return
		}
		http.ServeFile(w, r, p.execJS)
	case "chat.wasm":
		if p.build(); p.err != nil {
			http.Error(w, p.err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/wasm") // WebAssembly.instantiateStreaming needs it
		http.ServeContent(w, r, "chat.wasm", time.Time{}, bytes.NewReader(p.wasm))
	default:
		http.NotFound(w, r)
	}
}

// build compiles ./wasm for GOOS=js GOARCH=wasm once.
func (p *wasmPage) build() {
	p.once.Do(func() {
		_, file, _, ok := runtime.Caller(0)
		src := filepath.Join(filepath.Dir(file), "wasm")
		if _, err := os.Stat(filepath.Join(src, "main.go")); !ok || err != nil {
			p.err = fmt.Errorf("the sources of the Go client (examples/chat/wasm) are not where this binary was built; run the chat with go run ./examples/chat")
			return
		}
		goBin, err := exec.LookPath("go")
		if err != nil {
			p.err = fmt.Errorf("the go command builds the Go client: %v", err)
			return
		}
		goroot, err := exec.Command(goBin, "env", "GOROOT").Output()
		if err != nil {
			p.err = fmt.Errorf("go env GOROOT: %v", err)
			return
		}
		p.execJS = filepath.Join(strings.TrimSpace(string(goroot)), "lib", "wasm", "wasm_exec.js")
		dir, err := os.MkdirTemp("", "chat-wasm-")
		if err != nil {
			p.err = err
			return
		}
		defer os.RemoveAll(dir)
		cmd := exec.Command(goBin, "build", "-o", filepath.Join(dir, "chat.wasm"), ".")
		cmd.Dir = src
		cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
		if out, err := cmd.CombinedOutput(); err != nil {
			p.err = fmt.Errorf("GOOS=js GOARCH=wasm go build ./examples/chat/wasm: %v\n%s", err, out)
			return
		}
		p.wasm, p.err = os.ReadFile(filepath.Join(dir, "chat.wasm"))
	})
}
