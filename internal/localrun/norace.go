//go:build !race

package localrun

// raceEnabled reports whether this program was built with the race
// detector (the race tests): bootstrap is then built with it too.
const raceEnabled = false
