// Command testreport reads the event stream of `go test -json` on standard
// input and prints what a person needs from it: each package's result line,
// the full output of every failing test, build errors, the skipped tests
// with their reasons, and at the end the slowest packages and tests, so
// that the test budget stays visible. It exits 1 when a test or a build
// failed, or when the stream is not test2json. `make unit` pipes into it.
//
//	go test -json ./... | testreport [-slowest 10] [-save FILE]
//	testreport -only-slowest < FILE
package main

import (
	"bufio"
	"cmp"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

func main() {
	slowest := flag.Int("slowest", 10, "how many of the slowest packages and tests to list at the end (0: none)")
	save := flag.String("save", "", "also copy the event stream to this file (for `make slowest`)")
	onlySlowest := flag.Bool("only-slowest", false, "print only the slowest list (of a saved stream)")
	flag.Parse()
	in := io.Reader(os.Stdin)
	if *save != "" {
		f, err := os.Create(*save)
		if err != nil {
			fmt.Fprintln(os.Stderr, "testreport:", err)
			os.Exit(1)
		}
		defer f.Close()
		in = io.TeeReader(os.Stdin, f)
	}
	out := io.Writer(os.Stdout)
	if *onlySlowest {
		out = io.Discard
	}
	s, err := read(in, out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testreport:", err)
		os.Exit(1)
	}
	s.printSkips(out)
	s.printSlowest(os.Stdout, *slowest)
	if !*onlySlowest && s.failed {
		os.Exit(1)
	}
}

// event is one line of `go test -json` (cmd/test2json), with the build
// events of `go test -json` since Go 1.24.
type event struct {
	Action     string
	Package    string
	Test       string
	Elapsed    float64
	Output     string
	ImportPath string
}

type timing struct {
	name    string
	seconds float64
}

// summary is what read collected.
type summary struct {
	failed   bool
	packages []timing
	tests    []timing
	skips    []string
}

// read copies the human part of the stream to out as it arrives and
// returns the summary.
func read(r io.Reader, out io.Writer) (*summary, error) {
	s := &summary{}
	// Output of each running test, printed only if it fails.
	buffered := map[string][]string{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	events := 0
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if err := json.Unmarshal(line, &e); err != nil || e.Action == "" {
			// go test prints some errors (setup failures) as plain text.
			fmt.Fprintln(out, string(line))
			continue
		}
		events++
		key := e.Package + " " + e.Test
		switch e.Action {
		case "build-output":
			fmt.Fprint(out, e.Output)
		case "build-fail":
			s.failed = true
		case "output":
			if e.Test == "" {
				// A package's own lines: its result line, the output of
				// TestMain, a panic outside any test.
				if !strings.HasPrefix(e.Output, "=== ") && e.Output != "PASS\n" && e.Output != "FAIL\n" {
					fmt.Fprint(out, e.Output)
				}
				continue
			}
			buffered[key] = append(buffered[key], e.Output)
		case "pass", "fail", "skip":
			if e.Test == "" {
				if e.Action == "fail" {
					s.failed = true
				}
				if e.Action != "skip" {
					s.packages = append(s.packages, timing{shortPackage(e.Package), e.Elapsed})
				}
				continue
			}
			top := !strings.Contains(e.Test, "/")
			switch e.Action {
			case "fail":
				s.failed = true
				// A parent's output holds its subtests' failures already
				// when they print first; print each failing test once.
				fmt.Fprint(out, strings.Join(buffered[key], ""))
			case "skip":
				s.skips = append(s.skips, shortPackage(e.Package)+" "+e.Test+": "+skipReason(buffered[key]))
			}
			if top {
				s.tests = append(s.tests, timing{shortPackage(e.Package) + " " + e.Test, e.Elapsed})
			}
			delete(buffered, key)
		}
	}
	if err := sc.Err(); err != nil {
		return s, err
	}
	if events == 0 {
		return s, errors.New("no go test -json events on standard input")
	}
	return s, nil
}

// skipReason is the t.Skip message: the output lines after "=== RUN" and
// before the "--- SKIP" line, trimmed.
func skipReason(lines []string) string {
	var reason []string
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "=== ") || strings.HasPrefix(t, "--- SKIP") {
			continue
		}
		reason = append(reason, t)
	}
	return strings.Join(reason, " ")
}

func shortPackage(p string) string {
	const module = "github.com/docspace-backup-watch/docspace-backup-watch/"
	return strings.TrimPrefix(p, module)
}

func (s *summary) printSkips(w io.Writer) {
	if len(s.skips) == 0 {
		return
	}
	fmt.Fprintf(w, "\nSkipped (%d): a skipped test is not a passed one\n", len(s.skips))
	for _, sk := range s.skips {
		fmt.Fprintln(w, "  "+sk)
	}
}

func (s *summary) printSlowest(w io.Writer, n int) {
	if n <= 0 {
		return
	}
	list := func(title string, ts []timing) {
		ts = slices.Clone(ts)
		slices.SortStableFunc(ts, func(a, b timing) int { return cmp.Compare(b.seconds, a.seconds) })
		if len(ts) > n {
			ts = ts[:n]
		}
		fmt.Fprintf(w, "\n%s\n", title)
		for _, t := range ts {
			fmt.Fprintf(w, "  %7.2fs  %s\n", t.seconds, t.name)
		}
	}
	list("Slowest packages (each test binary's run time; packages run in parallel):", s.packages)
	list("Slowest tests (top level, subtests included in their parent):", s.tests)
}
