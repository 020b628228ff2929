// Command checkportal checks one DocSpace portal's backups once, from the
// terminal, without AWS: it reads the backup state, schedule, history and
// last job, and prints the verdict the Lambda function would reach. The
// portal URL and API key come from the environment, so that the key stays
// out of the shell history and the process list:
//
//	DOCSPACE_URL=https://portal.example.com DOCSPACE_API_KEY=sk-... check-portal [-json]
//
// By default it prints a short text for a person: the verdict, each problem
// with what to do about it, the last backup and the next one due. With
// -json it prints one JSON object for machines, with durations in
// milliseconds as in the Lambda function's log line.
//
// The key is trimmed and checked as the function checks a key it reads
// from Secrets Manager. ALLOW_INSECURE_HTTP=true allows an http:// portal
// (a local test portal) and STATE_PATH replaces the backup state route, as
// for the function.
//
// Exit status: 0 when the portal is healthy, 2 when the verdict needs a
// person, 1 when the check could not run (bad input or configuration).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/alert"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/backupcheck"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/docspace"
)

// Exit statuses.
const (
	exitHealthy  = 0
	exitBadInput = 1
	exitProblem  = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr, time.Now))
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, now func() time.Time) int {
	fs := flag.NewFlagSet("check-portal", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print one JSON object (durations in milliseconds) instead of text")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: DOCSPACE_URL=https://portal.example.com DOCSPACE_API_KEY=sk-... check-portal [-json]")
		fmt.Fprintln(stderr, "\nChecks one portal's backups once. Exit status: 0 healthy, 2 a problem, 1 bad input.")
		fmt.Fprintln(stderr, "Optional: ALLOW_INSECURE_HTTP=true (an http:// test portal), STATE_PATH (the backup state route).")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitHealthy
		}
		return exitBadInput
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "check-portal: unexpected argument %q: the portal and key come from DOCSPACE_URL and DOCSPACE_API_KEY\n", fs.Arg(0))
		return exitBadInput
	}
	rawURL := strings.TrimSpace(getenv("DOCSPACE_URL"))
	key := docspace.APIKey(strings.TrimSpace(getenv("DOCSPACE_API_KEY")))
	if rawURL == "" || key == "" {
		fmt.Fprintln(stderr, "check-portal: set DOCSPACE_URL (https://your-portal) and DOCSPACE_API_KEY (sk-...)")
		return exitBadInput
	}
	if err := docspace.ValidateAPIKey(key); err != nil {
		fmt.Fprintln(stderr, "check-portal: DOCSPACE_API_KEY:", err)
		return exitBadInput
	}
	counter := &requestCounter{next: http.DefaultTransport, paths: map[string]int{}}
	opts := []docspace.Option{docspace.WithHTTPClient(&http.Client{Transport: counter})}
	if s := getenv("ALLOW_INSECURE_HTTP"); s != "" {
		allow, err := strconv.ParseBool(s)
		if err != nil {
			fmt.Fprintf(stderr, "check-portal: ALLOW_INSECURE_HTTP=%q: want true or false\n", s)
			return exitBadInput
		}
		if allow {
			opts = append(opts, docspace.WithInsecureHTTP())
		}
	}
	if p := getenv("STATE_PATH"); p != "" {
		opts = append(opts, docspace.WithStatePath(p))
	}
	client, err := docspace.NewClient(rawURL, key, opts...)
	if err != nil {
		fmt.Fprintln(stderr, "check-portal:", docspace.Redact(err.Error(), key))
		return exitBadInput
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	v := backupcheck.Check(ctx, client.Portal(), client, backupcheck.Options{Signals: backupcheck.AllSignals()}, now())
	r := newReport(v, counter)
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			fmt.Fprintln(stderr, "check-portal:", err)
			return exitBadInput
		}
	} else {
		r.writeText(stdout, now())
	}
	if !v.Healthy() {
		return exitProblem
	}
	return exitHealthy
}

// requestCounter counts the requests sent to the portal, by path.
type requestCounter struct {
	next  http.RoundTripper
	mu    sync.Mutex
	paths map[string]int
}

func (c *requestCounter) RoundTrip(req *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.paths[req.URL.Path]++
	c.mu.Unlock()
	return c.next.RoundTrip(req)
}

// counts returns the requests sent and the retries among them (requests
// beyond the first to each route).
func (c *requestCounter) counts() (requests, retries int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range c.paths {
		requests += n
		retries += n - 1
	}
	return requests, retries
}

// report is the -json output: the verdict's fields a person or a script
// uses, with durations in milliseconds as in the function's log line.
type report struct {
	Portal   string             `json:"portal"`
	Outcome  backupcheck.Reason `json:"outcome"`
	Severity alert.Severity     `json:"severity,omitempty"`
	Detail   string             `json:"detail,omitempty"`
	Problems []problem          `json:"problems,omitempty"`
	Enabled  *bool              `json:"enabled,omitempty"`
	// LastBackup and NextDue are RFC 3339 times in UTC.
	LastBackup   *time.Time `json:"lastBackup,omitempty"`
	NextDue      *time.Time `json:"nextDue,omitempty"`
	StaleAfterMs int64      `json:"staleAfterMs,omitempty"`
	HTTPStatus   int        `json:"httpStatus"`
	// LatencyMs is the longest call's (the calls run at the same time).
	LatencyMs int64 `json:"latencyMs"`
	// Requests are the HTTP requests sent to the portal, retries
	// included; Retries are those beyond the first to each route.
	Requests  int       `json:"requests"`
	Retries   int       `json:"retries"`
	CheckedAt time.Time `json:"checkedAt"`
}

type problem struct {
	Reason   backupcheck.Reason `json:"reason"`
	Severity alert.Severity     `json:"severity"`
	Detail   string             `json:"detail"`
	WhatToDo string             `json:"whatToDo,omitempty"`
}

func newReport(v backupcheck.Verdict, c *requestCounter) report {
	r := report{
		Portal: v.Portal, Outcome: v.Reason, Detail: v.Detail, Enabled: v.Enabled,
		LastBackup: utc(v.LastBackup), NextDue: utc(v.NextDue), StaleAfterMs: v.StaleAfter.Milliseconds(),
		HTTPStatus: v.Result.StatusCode, LatencyMs: v.Result.Latency.Milliseconds(), CheckedAt: v.At.UTC(),
	}
	r.Requests, r.Retries = c.counts()
	if !v.Healthy() {
		r.Severity = alert.SeverityOf(v.Reason)
	}
	for _, p := range v.Problems {
		r.Problems = append(r.Problems, problem{Reason: p.Reason, Severity: alert.SeverityOf(p.Reason), Detail: p.Detail, WhatToDo: alert.NextStep(p.Reason)})
	}
	return r
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// writeText prints the report for a person.
func (r report) writeText(w io.Writer, now time.Time) {
	if len(r.Problems) == 0 {
		fmt.Fprintf(w, "%s: healthy\n", r.Portal)
		if r.Detail != "" {
			fmt.Fprintf(w, "  %s\n", r.Detail)
		}
	} else {
		fmt.Fprintf(w, "%s: %s (%s)\n", r.Portal, r.Outcome, r.Severity)
		for _, p := range r.Problems {
			fmt.Fprintf(w, "\nProblem: %s (%s)\n  %s\n", p.Reason, p.Severity, p.Detail)
			if p.WhatToDo != "" {
				fmt.Fprintf(w, "  What to do: %s\n", p.WhatToDo)
			}
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "Last backup:   %s\n", when(r.LastBackup, now, "unknown"))
	fmt.Fprintf(w, "Next due:      %s\n", when(r.NextDue, now, "no schedule known"))
	fmt.Fprintf(w, "Checked:       %s, %d request(s), %d retried, slowest %s\n", r.CheckedAt.Format("2006-01-02 15:04 MST"), r.Requests, r.Retries, human(time.Duration(r.LatencyMs)*time.Millisecond))
}

// when prints t in UTC with how far it is from now, or none.
func when(t *time.Time, now time.Time, none string) string {
	if t == nil {
		return none
	}
	d := now.Sub(*t)
	rel := human(d) + " ago"
	if d < 0 {
		rel = "in " + human(-d)
	}
	return fmt.Sprintf("%s (%s)", t.UTC().Format("2006-01-02 15:04 MST"), rel)
}

// human prints d in the largest unit that keeps it readable: ms, s, min,
// h, then days.
func human(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h", int(d.Hours()))
	default:
		return fmt.Sprintf("%d days", int(d.Hours()/24))
	}
}
