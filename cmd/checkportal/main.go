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
// from its secret. The function's settings that change a verdict apply
// here too, with the same names and values: DUMP, SELF_HOSTED,
// STALE_AFTER, HTTP_TIMEOUT and STATE_PATH; ALLOW_INSECURE_HTTP=true
// allows an http:// portal (a local test portal).
//
// Exit status: 0 when the portal is healthy, 2 when the verdict needs a
// person, 1 when the check could not run (bad input or configuration;
// with -json the error is printed as {"error": "..."}).
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

const usage = `usage: DOCSPACE_URL=https://portal.example.com DOCSPACE_API_KEY=sk-... check-portal [-json]

Checks one portal's backups once and prints the verdict the Lambda function
would reach. Exit status: 0 healthy, 2 a problem, 1 bad input.

The function's settings apply, with the same names and values:
  DUMP=true             read schedules, history and jobs with ?dump=true
  SELF_HOSTED=true|false|auto (default auto: ask the portal's settings route)
  STALE_AFTER=30h       age of the newest backup that is stale (default: from the schedule)
  HTTP_TIMEOUT=10s      timeout of each request
  STATE_PATH=/api/...   the backup state route
  ALLOW_INSECURE_HTTP=true  allow an http:// test portal
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr, time.Now))
}

// settings are what the environment asks of the check.
type settings struct {
	url       string
	key       docspace.APIKey
	opts      []docspace.Option
	check     backupcheck.Options
	timeout   time.Duration
	allowHTTP bool
}

// readSettings reads the environment as the function reads its own: one
// error names every missing or bad variable.
func readSettings(getenv func(string) string) (settings, error) {
	var errs []error
	s := settings{
		url: strings.TrimSpace(getenv("DOCSPACE_URL")),
		key: docspace.APIKey(strings.TrimSpace(getenv("DOCSPACE_API_KEY"))),
		// A person asking once may read the history once, for the exact
		// date of the newest backup (the Lambda function reads it rarely:
		// every read asks the storage about each record and may remove
		// records).
		check:   backupcheck.Options{Signals: backupcheck.AllSignals(), WantNewest: true},
		timeout: docspace.DefaultTimeout,
	}
	if s.url == "" {
		errs = append(errs, errors.New("DOCSPACE_URL is not set: the portal's address, such as https://portal.example.com"))
	}
	if s.key == "" {
		errs = append(errs, errors.New("DOCSPACE_API_KEY is not set: the portal's API key (sk-...), for example: read -rs DOCSPACE_API_KEY; export DOCSPACE_API_KEY"))
	} else if err := docspace.ValidateAPIKey(s.key); err != nil {
		errs = append(errs, fmt.Errorf("DOCSPACE_API_KEY: %w", err))
	}
	boolean := func(name string) bool {
		v := strings.TrimSpace(getenv(name))
		if v == "" {
			return false
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s=%q is not true or false", name, v))
		}
		return b
	}
	duration := func(name string, zeroOK bool) time.Duration {
		v := strings.TrimSpace(getenv(name))
		if v == "" {
			return 0
		}
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || (d == 0 && !zeroOK) {
			errs = append(errs, fmt.Errorf("%s=%q is not a positive duration such as 30s, 5m or 24h", name, v))
			return 0
		}
		return d
	}
	s.allowHTTP = boolean("ALLOW_INSECURE_HTTP")
	if d := duration("HTTP_TIMEOUT", false); d > 0 {
		s.timeout = d
	}
	s.check.StaleAfter = duration("STALE_AFTER", true)
	s.opts = append(s.opts, docspace.WithTimeout(s.timeout), docspace.WithDump(boolean("DUMP")))
	if p := strings.TrimSpace(getenv("STATE_PATH")); p != "" {
		s.opts = append(s.opts, docspace.WithStatePath(p))
	}
	if s.allowHTTP {
		s.opts = append(s.opts, docspace.WithInsecureHTTP())
	}
	switch v := strings.ToLower(strings.TrimSpace(getenv("SELF_HOSTED"))); v {
	case "", "auto":
	default:
		if b, err := strconv.ParseBool(v); err == nil {
			s.check.SelfHosted = &b
		} else {
			errs = append(errs, fmt.Errorf("SELF_HOSTED=%q is not true, false or auto", v))
		}
	}
	return s, errors.Join(errs...)
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, now func() time.Time) int {
	fs := flag.NewFlagSet("check-portal", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print one JSON object (durations in milliseconds) instead of text")
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitHealthy
		}
		return exitBadInput
	}
	// fail reports why the check could not run: for a person on stderr,
	// with -json as {"error": "..."} on stdout.
	fail := func(err error, key docspace.APIKey) int {
		msg := err.Error()
		if key != "" {
			msg = docspace.Redact(msg, key)
		}
		if *asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			_ = enc.Encode(struct {
				Error string `json:"error"`
			}{msg})
		} else {
			fmt.Fprintln(stderr, "check-portal: "+strings.ReplaceAll(msg, "\n", "\ncheck-portal: "))
		}
		return exitBadInput
	}
	if fs.NArg() > 0 {
		return fail(fmt.Errorf("unexpected argument %q: the portal and key come from DOCSPACE_URL and DOCSPACE_API_KEY", fs.Arg(0)), "")
	}
	set, err := readSettings(getenv)
	if err != nil {
		return fail(err, set.key)
	}
	counter := &requestCounter{next: http.DefaultTransport, paths: map[string]int{}}
	client, err := docspace.NewClient(set.url, set.key, append(set.opts, docspace.WithHTTPClient(&http.Client{Transport: counter}))...)
	if err != nil {
		return fail(err, set.key)
	}
	// Room for the worst case of the retries (3 attempts and 2 waits of
	// at most 5 s a route), twice: the settings route may follow the others.
	budget := max(time.Minute, 2*(3*set.timeout+10*time.Second))
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	v := backupcheck.Check(ctx, client.Portal(), client, set.check, now())
	r := newReport(v, counter)
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			return fail(err, set.key)
		}
	} else {
		r.writeText(stdout, now())
	}
	if !v.Healthy() {
		return exitProblem
	}
	return exitHealthy
}

// requestCounter counts the requests sent to the portal, by request: the
// path, the query and whether the key was sent (the settings route is
// asked with and without it, the count route for several windows).
type requestCounter struct {
	next  http.RoundTripper
	mu    sync.Mutex
	paths map[string]int
}

func (c *requestCounter) RoundTrip(req *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.paths[fmt.Sprintf("%s?%s key=%v", req.URL.Path, req.URL.RawQuery, req.Header.Get("Authorization") != "")]++
	c.mu.Unlock()
	return c.next.RoundTrip(req)
}

// counts returns the requests sent and the retries among them (requests
// beyond the first of each kind).
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
	// Sources names the signal each reason was judged from ("count",
	// "history", ...), and HistoryRead says whether the history was read.
	Sources     map[backupcheck.Reason]string `json:"sources,omitempty"`
	HistoryRead bool                          `json:"historyRead"`
	// Zone is the portal's time zone, "" when unknown (UTC assumed).
	Zone string `json:"zone,omitempty"`
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
		Sources: v.Sources, HistoryRead: v.HistoryRead, Zone: v.Zone,
	}
	r.Requests, r.Retries = c.counts()
	if !v.Healthy() {
		r.Severity = alert.SeverityOf(v.Reason)
	}
	for _, p := range v.Problems {
		r.Problems = append(r.Problems, problem{Reason: p.Reason, Severity: alert.SeverityOf(p.Reason), Detail: p.Detail, WhatToDo: alert.TerminalStepFor(v, p.Reason)})
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
	if src, ok := r.Sources[backupcheck.BackupStale]; ok {
		read := "not read"
		if r.HistoryRead {
			read = "read once"
		}
		from := map[string]string{backupcheck.SourceCount: "the count route (no side effect)", backupcheck.SourceHistory: "the history", backupcheck.SourceRemembered: "an earlier history read"}[src]
		if from == "" {
			from = src
		}
		fmt.Fprintf(w, "Freshness:     from %s; the history %s\n", from, read)
	}
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
