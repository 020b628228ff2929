// Package buildflags tells a program the compile flags it was built with,
// so that a binary it builds for a test (bootstrap, check-portal) can be
// compiled the same way and reuse the program's compiled packages, where
// other flags would compile the standard library and the SDK once more.
// `make test` builds the race tests with -race and without DWARF
// (-gcflags=all=-dwarf=false).
package buildflags

import (
	"fmt"
	"runtime/debug"
	"strings"
)

// GoBuild returns the go build flags that compile like the running
// program: -race when it has the race detector ([Race]), and its -gcflags.
func GoBuild() ([]string, error) {
	gcflags, err := GCFlags()
	if err != nil {
		return nil, err
	}
	return goBuild(Race, gcflags), nil
}

// GCFlags returns the -gcflags the running program was built with, or ""
// when it was built without. A value that make or a shell would rewrite
// (quotes, $, backslashes, newlines) is an error, so that passing it on
// never compiles differently without saying so.
func GCFlags() (string, error) {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "", nil
	}
	return gcflagsSetting(info.Settings)
}

func goBuild(race bool, gcflags string) []string {
	var flags []string
	if race {
		flags = append(flags, "-race")
	}
	if gcflags != "" {
		flags = append(flags, "-gcflags="+gcflags)
	}
	return flags
}

func gcflagsSetting(settings []debug.BuildSetting) (string, error) {
	for _, s := range settings {
		if s.Key != "-gcflags" {
			continue
		}
		if strings.ContainsAny(s.Value, "'\"`$\\\n") {
			return "", fmt.Errorf("cannot pass this program's -gcflags %q on to a build", s.Value)
		}
		return s.Value, nil
	}
	return "", nil
}
