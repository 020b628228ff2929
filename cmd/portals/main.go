// Command portals registers, lists and removes the DocSpace portals a
// docspace-backup-watch stack checks: each is a key in the bound form,
// either a Secrets Manager secret tagged docspace-backup-watch=<stack
// name> or an SSM Parameter Store SecureString parameter under
// /docspace-backup-watch/<stack name> (no storage charge).
//
//	portals -stack NAME add https://a.example.com [-store secret|parameter] [-name NAME] [-kms-key KEY]   (the key on stdin)
//	portals -stack NAME list [-table STATE_TABLE]
//	portals -stack NAME remove SECRET_OR_PARAMETER [-now]
//	portals -stack NAME mute PORTAL -for 4h -reason "..." -table STATE_TABLE
//	portals -stack NAME unmute PORTAL -table STATE_TABLE
//	portals -stack NAME ack PORTAL REASON -table STATE_TABLE
//
// add reads the API key from standard input, never from the command line
// (where it would land in the shell's history and the process list). list
// prints a table of both stores: the secret or parameter, the portal, and
// with -table (the stack's AlertStateTableName output) the open problems
// from the alert state and since when, and each portal's mute (until when,
// why), also of portals that come from a schedule's input rather than the
// registry. list also names a portal bound to two entries (and the one
// runs use), and prints the command that gives a secret without it (or
// with a wrong one) the portal tag (docspace-backup-watch:portal) that
// lets a run over the check queue queue its portal once. remove takes a name that starts
// with "/" as a parameter (deleted at once, only with -now: Parameter
// Store keeps no deleted copy), any other as a secret.
//
// mute silences a portal (a registered one, or one a run checked from a
// schedule's input) for a while, at most 30 days: it is still checked and
// logged, but no alert, reminder or SMS goes out until the mute ends; a
// problem that still stands then alerts, saying since when the portal was
// muted. unmute ends it now. ack acknowledges an open problem: no
// reminders until it resolves; the resolved notice still goes out. Bad
// input (a mute over 30 days or ending in the past, an unknown portal, a
// reason that is not open) is an error and writes nothing. It uses the AWS credentials and region of the environment.
// The exit status is 0 on success, 1 on an error, 2 on bad usage.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/alertstate"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/docspace"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/registry"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/secrets"
)

const usage = `usage:
  portals -stack NAME add PORTAL_URL [-store secret|parameter] [-name NAME] [-kms-key KEY]   (reads the API key from stdin)
  portals -stack NAME list [-table STATE_TABLE]
  portals -stack NAME remove SECRET_NAME_OR_ARN|PARAMETER_NAME [-now]
  portals -stack NAME mute PORTAL (-for DURATION | -until TIME) -reason TEXT -table STATE_TABLE
  portals -stack NAME unmute PORTAL -table STATE_TABLE
  portals -stack NAME ack PORTAL REASON -table STATE_TABLE
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "portals: load AWS config:", err)
		os.Exit(1)
	}
	os.Exit(run(ctx, cfg, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(ctx context.Context, cfg aws.Config, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("portals", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	stack := fs.String("stack", "", "the stack's name: the value of the docspace-backup-watch tag")
	tagKey := fs.String("tag-key", registry.DefaultTagKey, "the registry's tag key")
	path := fs.String("path", "", "the stack's parameter path (default "+registry.DefaultParameterPrefix+"/<stack>)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	tag := registry.Tag{Key: *tagKey, Value: *stack}
	if err := tag.Validate(); err != nil || fs.NArg() == 0 {
		fmt.Fprint(stderr, "portals: -stack NAME and a command are required\n"+usage)
		return 2
	}
	st := stores{sm: secretsmanager.NewFromConfig(cfg), ssm: ssm.NewFromConfig(cfg), tag: tag, path: *path}
	if st.path == "" {
		st.path = registry.DefaultParameterPath(*stack)
	}
	if err := registry.ValidateParameterPath(st.path); err != nil {
		fmt.Fprintf(stderr, "portals: -path: %v\n", err)
		return 2
	}
	cmd, rest := fs.Arg(0), fs.Args()[1:]
	var err error
	switch cmd {
	case "add":
		err = add(ctx, st, rest, stdin, stdout, stderr)
	case "list":
		err = list(ctx, st, dynamodb.NewFromConfig(cfg), rest, stdout, stderr)
	case "remove":
		err = remove(ctx, st, rest, stdout, stderr)
	case "mute":
		err = mute(ctx, st, dynamodb.NewFromConfig(cfg), rest, stdout, stderr)
	case "unmute":
		err = unmute(ctx, dynamodb.NewFromConfig(cfg), rest, stdout, stderr)
	case "ack":
		err = ack(ctx, dynamodb.NewFromConfig(cfg), rest, stdout, stderr)
	default:
		err = errUsage
	}
	switch {
	case errors.Is(err, errUsage):
		fmt.Fprint(stderr, usage)
		return 2
	case err != nil:
		fmt.Fprintln(stderr, "portals:", err)
		return 1
	}
	return 0
}

var errUsage = errors.New("usage")

// stores are the stack's two registries: its tagged secrets and the
// parameters under its path.
type stores struct {
	sm   *secretsmanager.Client
	ssm  *ssm.Client
	tag  registry.Tag
	path string
}

// registries are the stack's two stores of registered portals, listed
// afresh (no cache) for a person's command.
func (st stores) registries() (registry.All, error) {
	secretReg, err := registry.New(st.sm, st.tag, registry.WithTTL(0))
	if err != nil {
		return nil, err
	}
	paramReg, err := registry.NewParameters(st.ssm, st.path, registry.WithTTL(0))
	if err != nil {
		return nil, err
	}
	return registry.All{secretReg, paramReg}, nil
}

// parse parses a command's flags, which may come before or after its one
// positional argument.
func parse(fs *flag.FlagSet, args []string) (string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return "", errUsage
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(pos) != 1 {
		return "", errUsage
	}
	return pos[0], nil
}

func add(ctx context.Context, st stores, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("add", flag.ContinueOnError)
	fs.SetOutput(stderr)
	store := fs.String("store", "secret", "where the key goes: secret (Secrets Manager, $0.40 a month) or parameter (Parameter Store SecureString, no storage charge)")
	name := fs.String("name", "", "the secret's name (default docspace/<portal>) or the parameter's (default <path>/<portal>)")
	kmsKey := fs.String("kms-key", "", "with -store parameter: a customer-managed KMS key (default the account's aws/ssm key)")
	portalURL, err := parse(fs, args)
	if err != nil {
		return err
	}
	if *store != "secret" && *store != "parameter" || *kmsKey != "" && *store != "parameter" {
		return errUsage
	}
	line, err := bufio.NewReader(io.LimitReader(stdin, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read the API key from stdin: %w", err)
	}
	key := docspace.APIKey(strings.TrimSpace(line))
	if key == "" {
		return errors.New("no API key on stdin: pipe it in, e.g. read -rs KEY; printf '%s\\n' \"$KEY\" | portals ... add URL")
	}
	// Each store refuses a second entry for a portal it has; the other
	// store is asked here, so a portal is registered once in all.
	u, err := docspace.ValidateBaseURL(portalURL, false)
	if err != nil {
		return fmt.Errorf("register: %w", err)
	}
	portal := docspace.PortalName(u)
	var other []registry.Entry
	if *store == "parameter" {
		other, err = registry.BoundTo(ctx, st.sm, st.tag, portal)
	} else {
		other, err = registry.ParametersBoundTo(ctx, st.ssm, st.path, portal)
	}
	if err != nil {
		return fmt.Errorf("register %s: look for an entry already bound to it: %w", portal, err)
	}
	if len(other) > 0 {
		return fmt.Errorf("register %s: %w: %s is bound to it; put the new key there, or remove it first (portals remove)", portal, registry.ErrAlreadyRegistered, other[0].Name)
	}
	var id string
	if *store == "parameter" {
		id, err = registry.RegisterParameter(ctx, st.ssm, st.path, *name, portalURL, key, *kmsKey)
	} else {
		id, err = registry.Register(ctx, st.sm, st.tag, *name, portalURL, key)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "registered %s as %s\n", portalURL, id)
	return nil
}

func remove(ctx context.Context, st stores, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("remove", flag.ContinueOnError)
	fs.SetOutput(stderr)
	now := fs.Bool("now", false, fmt.Sprintf("delete at once instead of after the %d-day recovery window, which keeps the name taken (a parameter has none: -now is required)", registry.RecoveryWindowDays))
	id, err := parse(fs, args)
	if err != nil {
		return err
	}
	if strings.HasPrefix(id, "/") {
		if !*now {
			return fmt.Errorf("remove %s: Parameter Store keeps no deleted copy of the key; run again with -now to delete it", id)
		}
		err = registry.RemoveParameter(ctx, st.ssm, st.path, id)
	} else {
		err = registry.Remove(ctx, st.sm, st.tag, id, *now)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "removed %s: the next listing (within SECRET_CACHE_TTL) no longer checks it\n", id)
	if *now {
		fmt.Fprintln(stdout, "It is deleted at once, and its name is free again.")
	} else {
		fmt.Fprintf(stdout, "Secrets Manager deletes it after its %d-day recovery window; until then its name stays taken, so adding the portal again under that name fails (aws secretsmanager restore-secret --secret-id %s brings it back; remove -now deletes at once).\n", registry.RecoveryWindowDays, id)
	}
	return nil
}

func list(ctx context.Context, st stores, ddb *dynamodb.Client, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	table := fs.String("table", "", "the alert state table (the stack's AlertStateTableName output), for each portal's state")
	if err := fs.Parse(args); err != nil || fs.NArg() != 0 {
		return errUsage
	}
	both, err := st.registries()
	if err != nil {
		return err
	}
	// One store that cannot be listed (no permission) does not hide the
	// other's portals: its error comes at the end.
	entries, listErr := both.Portals(ctx)
	var state *alertstate.Store
	if *table != "" {
		if state, err = alertstate.NewStore(ddb, *table, alertstate.DefaultPolicy()); err != nil {
			return err
		}
	}
	keys := secrets.NewStore(st.sm, "", 0, secrets.WithParameters(st.ssm))
	w := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	header := "SECRET\tPORTAL"
	if state != nil {
		header += "\tSTATE\tSINCE\tMUTED UNTIL\tMUTE REASON"
	}
	fmt.Fprintln(w, header)
	errs := []error{listErr}
	var mutes map[string]alertstate.Mute
	if state != nil {
		if mutes, err = state.Mutes(ctx, ddb, now()); err != nil {
			errs = append(errs, err)
		}
	}
	bound := map[string][]registry.Entry{}
	for _, e := range entries {
		portal, ps := portalAndState(ctx, keys, state, e)
		if ps.err != nil {
			errs = append(errs, ps.err)
		}
		if ps.bound {
			bound[portal] = append(bound[portal], e)
		}
		row := e.Name + "\t" + portal
		if state != nil {
			row += "\t" + ps.text + "\t" + ps.since + "\t" + muteColumns(mutes[portal])
			delete(mutes, portal)
		}
		fmt.Fprintln(w, row)
	}
	// Muted portals that are not registered: from a schedule's input.
	for _, portal := range slices.Sorted(maps.Keys(mutes)) {
		ps := stateOf(ctx, state, portal)
		if ps.err != nil {
			errs = append(errs, ps.err)
		}
		fmt.Fprintln(w, "(schedule input)\t"+portal+"\t"+ps.text+"\t"+ps.since+"\t"+muteColumns(mutes[portal]))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d portal(s) registered with %s and under %s\n", len(entries), st.tag, st.path)
	tagNotes(stdout, bound)
	return errors.Join(errs...)
}

// tagNotes says, for the entries bound to each portal, which portal has
// two entries (and which one runs use), and which secret lacks the
// portal tag or carries a wrong one (which parameter the description)
// that lets a run over the check queue queue its portal once, with the
// command that tags it (for a parameter: remove and add it again).
func tagNotes(w io.Writer, bound map[string][]registry.Entry) {
	for _, portal := range slices.Sorted(maps.Keys(bound)) {
		es := slices.SortedFunc(slices.Values(bound[portal]), func(a, b registry.Entry) int { return strings.Compare(a.SecretID, b.SecretID) })
		if len(es) > 1 {
			var others []string
			for _, e := range es[1:] {
				others = append(others, e.Name)
			}
			fmt.Fprintf(w, "portal %s has %d entries: runs use %s (its ARN sorts first; over the check queue, from the second run on), not %s; remove the others (portals remove)\n", portal, len(es), es[0].Name, strings.Join(others, ", "))
		}
		want := registry.PortalTagValue(portal)
		for _, e := range es {
			switch {
			case e.Portal == want:
			case e.Portal != "" && strings.Contains(e.SecretID, ":secretsmanager:"):
				fmt.Fprintf(w, "secret %s has a wrong portal tag (%s; its key is bound to %s): aws secretsmanager tag-resource --secret-id %s --tags Key=%s,Value=%s\n", e.Name, e.Portal, portal, e.SecretID, registry.PortalTagKey, want)
			case e.Portal != "" && secrets.ParameterARN(e.SecretID):
				fmt.Fprintf(w, "parameter %s has a description naming another portal (%s; its key is bound to %s): remove it (remove -now) and add it again (add -store parameter)\n", e.Name, e.Portal, portal)
			case strings.Contains(e.SecretID, ":secretsmanager:"):
				fmt.Fprintf(w, "secret %s lacks the portal tag (a run over the check queue cannot tell its portal before reading the key): aws secretsmanager tag-resource --secret-id %s --tags Key=%s,Value=%s\n", e.Name, e.SecretID, registry.PortalTagKey, want)
			case secrets.ParameterARN(e.SecretID):
				// Parameter Store changes a description only with the value.
				fmt.Fprintf(w, "parameter %s lacks the description add writes (a run over the check queue cannot tell its portal before reading the key): remove it (remove -now) and add it again (add -store parameter)\n", e.Name)
			}
		}
	}
}

// muteColumns is a mute's MUTED UNTIL and MUTE REASON columns.
func muteColumns(m alertstate.Mute) string {
	if m.Until.IsZero() {
		return "-\t-"
	}
	return m.Until.UTC().Format(time.RFC3339) + "\t" + m.Reason
}

type portalState struct {
	text, since string
	err         error
	// bound says the portal is the one the entry's key is bound to.
	bound bool
}

// portalAndState names a registered portal from its bound secret (never
// printing the key) and reads its open problems from the alert state.
func portalAndState(ctx context.Context, keys *secrets.Store, state *alertstate.Store, e registry.Entry) (string, portalState) {
	b, err := keys.Binding(ctx, e.SecretID)
	if err != nil {
		return "?", portalState{text: "unreadable secret", since: "-", err: fmt.Errorf("%s: %w", e.Name, err)}
	}
	u, err := docspace.ValidateBaseURL(b.PortalURL, false)
	if err != nil {
		return b.PortalURL, portalState{text: "refused: " + err.Error(), since: "-"}
	}
	portal := docspace.PortalName(u)
	if state == nil {
		return portal, portalState{bound: true}
	}
	ps := stateOf(ctx, state, portal)
	ps.bound = true
	return portal, ps
}

// stateOf reads portal's open problems from the alert state; an
// acknowledged one is marked "(acked)".
func stateOf(ctx context.Context, state *alertstate.Store, portal string) portalState {
	m, err := state.Load(ctx, portal)
	if err != nil {
		return portalState{text: "state unreadable", since: "-", err: fmt.Errorf("%s: %w", portal, err)}
	}
	if len(m.Open) == 0 {
		return portalState{text: "ok", since: "-"}
	}
	reasons := make([]string, 0, len(m.Open))
	var since time.Time
	for r, t := range m.Open {
		if _, acked := m.Acked[r]; acked {
			r += "(acked)"
		}
		reasons = append(reasons, r)
		if since.IsZero() || t.Before(since) {
			since = t
		}
	}
	slices.Sort(reasons)
	return portalState{text: strings.Join(reasons, ","), since: since.UTC().Format(time.RFC3339)}
}
