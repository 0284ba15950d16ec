// Command compress-executor writes the compressed copies of executor
// binaries that ferry sends on first contact (see internal/execpack):
//
//	go run ./internal/tools/compress-executor bin/ferry-executor-linux-amd64 ...
//
// `make build` runs it after building the binaries.
package main

import (
	"fmt"
	"os"
	"sync"

	"github.com/ferry-ml/ferry/internal/execpack"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: compress-executor BINARY...")
		os.Exit(2)
	}
	errs := make([]error, len(os.Args)-1)
	var wg sync.WaitGroup
	for i, bin := range os.Args[1:] {
		wg.Go(func() { errs[i] = execpack.Write(bin) })
	}
	wg.Wait()
	failed := false
	for _, err := range errs {
		if err != nil {
			fmt.Fprintln(os.Stderr, "compress-executor:", err)
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
}
