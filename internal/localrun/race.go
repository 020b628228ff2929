//go:build race

package localrun

// raceEnabled reports whether this program was built with the race
// detector: the race tests are, and then bootstrap is built with it too.
const raceEnabled = true
