package main

// mute, unmute and ack: quiet when planned, in the alert state table.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/alertstate"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/docspace"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/secrets"
)

// now is the commands' clock (tests set it).
var now = time.Now

// quietArgs parses a quiet command's flags (-table and the command's own)
// and its positional arguments, and opens the alert state.
func quietArgs(fs *flag.FlagSet, ddb *dynamodb.Client, args []string, positional int) ([]string, *alertstate.Store, error) {
	table := fs.String("table", "", "the alert state table (the stack's AlertStateTableName output); required")
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, nil, errUsage
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(pos) != positional {
		return nil, nil, errUsage
	}
	if *table == "" {
		return nil, nil, errors.New("-table STATE_TABLE is required (the stack's AlertStateTableName output)")
	}
	store, err := alertstate.NewStore(ddb, *table, alertstate.DefaultPolicy())
	return pos, store, err
}

// portalName turns a portal's URL or name into the one name the alert
// state keys it by (see docspace.PortalName).
func portalName(arg string) (string, error) {
	raw := strings.TrimSpace(arg)
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("%q is not a portal URL or name (such as portal.example.com or https://example.com/docspace)", arg)
	}
	return docspace.PortalName(u), nil
}

// knownPortal returns an error unless portal is one the stack checks: the
// alert state has seen it (a run checked it in the last 30 days, from the
// registry or from a schedule's input) or the registry holds a secret or
// parameter bound to it.
func knownPortal(ctx context.Context, store *alertstate.Store, st stores, portal string) error {
	seen, err := store.Known(ctx, portal)
	if err != nil || seen {
		return err
	}
	both, err := st.registries()
	if err != nil {
		return err
	}
	entries, err := both.Portals(ctx)
	if err != nil {
		return err
	}
	keys := secrets.NewStore(st.sm, "", 0, secrets.WithParameters(st.ssm))
	for _, e := range entries {
		if p, _ := portalAndState(ctx, keys, nil, e); p == portal {
			return nil
		}
	}
	return fmt.Errorf("unknown portal %s: no run checked it in the last 30 days and no secret tagged %s nor parameter under %s is bound to it (check the spelling: host[:port][/path], as in the alerts)", portal, st.tag, st.path)
}

func mute(ctx context.Context, st stores, ddb *dynamodb.Client, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("mute", flag.ContinueOnError)
	fs.SetOutput(stderr)
	forD := fs.Duration("for", 0, "how long, such as 4h or 90m (at most 720h, 30 days)")
	until := fs.String("until", "", "when the mute ends, RFC 3339 (such as 2026-12-03T06:00:00Z); instead of -for")
	reason := fs.String("reason", "", "why, and who: shown by list and in the logs; required")
	pos, store, err := quietArgs(fs, ddb, args, 1)
	if err != nil {
		return err
	}
	portal, err := portalName(pos[0])
	if err != nil {
		return err
	}
	t := now().UTC()
	m := alertstate.Mute{Reason: *reason}
	switch {
	case (*forD != 0) == (*until != ""):
		return errors.New("give the mute's length with -for DURATION or its end with -until TIME (one of them)")
	case *forD != 0:
		m.Until = t.Add(*forD)
	default:
		if m.Until, err = time.Parse(time.RFC3339, *until); err != nil {
			return fmt.Errorf("-until %q is not an RFC 3339 time such as 2026-12-03T06:00:00Z", *until)
		}
	}
	if err := m.Validate(t); err != nil {
		return err
	}
	if err := knownPortal(ctx, store, st, portal); err != nil {
		return err
	}
	set, err := store.Mute(ctx, portal, m, t)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "muted %s until %s (%s), since %s: it is still checked and logged; no alert, reminder or SMS until then, and a problem that still stands then alerts\n",
		portal, set.Until.Format(time.RFC3339), set.Reason, set.Since.Format(time.RFC3339))
	return nil
}

func unmute(ctx context.Context, ddb *dynamodb.Client, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("unmute", flag.ContinueOnError)
	fs.SetOutput(stderr)
	pos, store, err := quietArgs(fs, ddb, args, 1)
	if err != nil {
		return err
	}
	portal, err := portalName(pos[0])
	if err != nil {
		return err
	}
	m, err := store.Unmute(ctx, portal, now())
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "unmuted %s (muted since %s: %s): the next run alerts on a problem that still stands\n", portal, m.Since.Format(time.RFC3339), m.Reason)
	return nil
}

func ack(ctx context.Context, ddb *dynamodb.Client, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ack", flag.ContinueOnError)
	fs.SetOutput(stderr)
	pos, store, err := quietArgs(fs, ddb, args, 2)
	if err != nil {
		return err
	}
	portal, err := portalName(pos[0])
	if err != nil {
		return err
	}
	reason := pos[1]
	if err := store.Ack(ctx, portal, reason, now()); err != nil {
		if errors.Is(err, alertstate.ErrNotOpen) {
			mem, lerr := store.Load(ctx, portal)
			if lerr == nil {
				return fmt.Errorf("%s has no open problem %q; open: %s", portal, reason, openReasons(mem))
			}
		}
		return err
	}
	fmt.Fprintf(stdout, "acknowledged %s on %s: no reminders until it resolves; the resolved notice still goes out\n", reason, portal)
	return nil
}

// openReasons lists the portal's open reasons for an error message.
func openReasons(m alertstate.Memory) string {
	if len(m.Open) == 0 {
		return "none"
	}
	return strings.Join(slices.Sorted(maps.Keys(m.Open)), ", ")
}
