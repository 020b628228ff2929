//go:build !race

package buildflags

// Race reports whether this program was built with the race detector.
const Race = false
