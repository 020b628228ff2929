// Command checkportal checks one DocSpace portal's backups once, from the
// terminal, without AWS: it reads the backup state, schedule, history and
// last job, and prints the verdict the Lambda function would reach, as JSON. The portal URL and API key come from the environment:
//
//	DOCSPACE_URL=https://portal.example.com DOCSPACE_API_KEY=sk-... checkportal
//
// The exit status is 0 when healthy, 2 when the verdict needs a person and
// 1 when the check could not run (bad configuration).
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"time"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/backupcheck"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/docspace"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Getenv, os.Stdout, os.Stderr))
}

func run(ctx context.Context, getenv func(string) string, stdout, stderr io.Writer) int {
	rawURL, key := getenv("DOCSPACE_URL"), docspace.APIKey(getenv("DOCSPACE_API_KEY"))
	if rawURL == "" || key == "" {
		fmt.Fprintln(stderr, "checkportal: set DOCSPACE_URL (https://your-portal) and DOCSPACE_API_KEY (sk-...)")
		return 1
	}
	var opts []docspace.Option
	if allow, _ := strconv.ParseBool(getenv("ALLOW_INSECURE_HTTP")); allow {
		opts = append(opts, docspace.WithInsecureHTTP())
	}
	if p := getenv("STATE_PATH"); p != "" {
		opts = append(opts, docspace.WithStatePath(p))
	}
	client, err := docspace.NewClient(rawURL, key, opts...)
	if err != nil {
		fmt.Fprintln(stderr, "checkportal:", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	v := backupcheck.Check(ctx, client.Portal(), client, backupcheck.Options{Signals: backupcheck.AllSignals()}, time.Now())
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		fmt.Fprintln(stderr, "checkportal:", err)
		return 1
	}
	if !v.Healthy() {
		return 2
	}
	return 0
}
