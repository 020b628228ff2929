package main

import (
	"fmt"
	"os"
	"runtime"
	"strings"
)

func goarch() string { return runtime.GOARCH }

// machine describes this machine: the CPU model and the number of CPUs.
func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "model name"); ok {
				model = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	return fmt.Sprintf("linux/%s, %d CPUs, %s", runtime.GOARCH, runtime.NumCPU(), model)
}
