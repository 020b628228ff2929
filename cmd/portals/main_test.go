package main

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/docspace-backup-watch/docspace-backup-watch/internal/localrun"
	"github.com/docspace-backup-watch/docspace-backup-watch/internal/motoserver"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/alertstate"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/registry"
)

const key = "sk-portals-cli-key-0123456789"

// portals runs the command with stdin and returns its exit status and
// output; no output may hold the key.
func portals(t *testing.T, cfg aws.Config, stdin string, args ...string) (int, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), cfg, args, strings.NewReader(stdin), &out, &errOut)
	text := out.String() + errOut.String()
	if strings.Contains(text, key) {
		t.Errorf("portals %v printed the key:\n%s", args, text)
	}
	return code, text
}

// TestAddListRemove: add registers a bound, tagged secret with the key read
// from stdin; list shows each portal with its open problems from the alert
// state table; remove deregisters only a secret carrying the stack's tag.
func TestAddListRemove(t *testing.T) {
	ctx := context.Background()
	cfg := motoserver.AWSConfig(motoserver.Start(t))
	sm := secretsmanager.NewFromConfig(cfg)
	table := "portals-cli-state"
	if err := localrun.CreateStateTable(ctx, dynamodb.NewFromConfig(cfg), table); err != nil {
		t.Fatal(err)
	}

	if code, out := portals(t, cfg, key+"\n", "-stack", "prod", "add", "https://A.example.com/"); code != 0 || !strings.Contains(out, "registered") {
		t.Fatalf("add = %d %s", code, out)
	}
	if code, out := portals(t, cfg, key, "-stack", "prod", "add", "-name", "owner/b", "https://b.example.com/docspace"); code != 0 {
		t.Fatalf("add -name = %d %s", code, out)
	}
	// A second secret for a registered portal is refused, naming both.
	if code, out := portals(t, cfg, key, "-stack", "prod", "add", "-name", "owner/a-again", "https://a.example.com"); code != 1 ||
		!strings.Contains(out, "portal already registered") || !strings.Contains(out, "docspace/a.example.com") || !strings.Contains(out, "owner/a-again") {
		t.Errorf("add of a registered portal = %d %s, want refused naming docspace/a.example.com and owner/a-again", code, out)
	}
	got, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("docspace/a.example.com")})
	if err != nil || aws.ToString(got.SecretString) != `{"apiKey":"`+key+`","portalUrl":"https://a.example.com"}` {
		t.Errorf("secret docspace/a.example.com = %v, %v, want the bound form", aws.ToString(got.SecretString), err)
	}
	for _, bad := range []struct {
		stdin string
		args  []string
		code  int
	}{
		{"", []string{"-stack", "prod", "add", "https://c.example.com"}, 1},               // no key on stdin
		{key, []string{"-stack", "prod", "add", "http://c.example.com"}, 1},               // not https
		{key, []string{"-stack", "prod", "add"}, 2},                                       // no URL
		{key, []string{"add", "https://c.example.com"}, 2},                                // no stack
		{key, []string{"-stack", "prod", "add", "-key", key, "https://c.example.com"}, 2}, // no key flag
		{key, []string{"-stack", "prod", "frobnicate"}, 2},                                // unknown command
	} {
		if code, out := portals(t, cfg, bad.stdin, bad.args...); code != bad.code {
			t.Errorf("portals %q = %d (%s), want %d", bad.args, code, out, bad.code)
		}
	}
	// Another stack's portal is not listed, and not removed through prod.
	if code, _ := portals(t, cfg, key, "-stack", "staging", "add", "https://s.example.com"); code != 0 {
		t.Fatal("add to staging failed")
	}

	store, err := alertstate.NewStore(dynamodb.NewFromConfig(cfg), table, alertstate.DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	since := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	if _, err := store.Record(ctx, "b.example.com/docspace", alertstate.Run{Failing: []string{"backup_stale"}, Evaluated: []string{"backup_stale"}}, since); err != nil {
		t.Fatal(err)
	}
	code, out := portals(t, cfg, "", "-stack", "prod", "list", "-table", table)
	rows := regexp.MustCompile(`\s+`).ReplaceAllString(out, " ")
	if code != 0 || !strings.Contains(rows, "SECRET PORTAL STATE SINCE") ||
		!strings.Contains(rows, "docspace/a.example.com a.example.com ok -") ||
		!strings.Contains(rows, "owner/b b.example.com/docspace backup_stale 2026-11-28T10:00:00Z") ||
		strings.Contains(out, "s.example.com") || !strings.Contains(out, "2 portal(s)") {
		t.Errorf("list = %d:\n%s\nwant a and b with their state, not staging's portal", code, out)
	}

	if code, out := portals(t, cfg, "", "-stack", "prod", "remove", "docspace/s.example.com"); code != 1 || !strings.Contains(out, "not registered") {
		t.Errorf("remove of another stack's secret = %d %s, want refused", code, out)
	}
	if code, out := portals(t, cfg, "", "-stack", "prod", "remove", "docspace/a.example.com", "-now"); code != 0 || !strings.Contains(out, "its name is free again") {
		t.Errorf("remove -now = %d %s, want the name said free", code, out)
	}
	if _, out := portals(t, cfg, "", "-stack", "prod", "list"); strings.Contains(out, "a.example.com") || !strings.Contains(out, "1 portal(s)") {
		t.Errorf("list after remove:\n%s\nwant only b", out)
	}
	// Without -now the name stays taken until the recovery window ends.
	if code, out := portals(t, cfg, "", "-stack", "prod", "remove", "owner/b"); code != 0 ||
		!strings.Contains(out, "after its 7-day recovery window; until then its name stays taken") {
		t.Errorf("remove without -now = %d %s, want the recovery window stated", code, out)
	}
	if code, out := portals(t, cfg, "", "-stack", "prod", "list"); code != 0 || strings.Contains(out, "owner/b") {
		t.Errorf("list after remove without -now = %d:\n%s\nwant no owner/b", code, out)
	}
	if err := registry.Remove(ctx, sm, registry.Tag{Key: registry.DefaultTagKey, Value: "prod"}, "docspace/s.example.com", true); !errors.Is(err, registry.ErrNotRegistered) {
		t.Errorf("Remove(another stack's secret) error = %v, want ErrNotRegistered", err)
	}
}

// TestAddListRemoveParameters: add -store parameter puts a SecureString
// parameter in the bound form under the stack's path, the key read from
// stdin; list shows the parameters beside the secrets, and a parameter
// bound to http as refused; remove deletes only a parameter under the
// stack's path, and only with -now; no output holds the key.
func TestAddListRemoveParameters(t *testing.T) {
	ctx := context.Background()
	cfg := motoserver.AWSConfig(motoserver.Start(t))
	client := ssm.NewFromConfig(cfg)

	if code, out := portals(t, cfg, key+"\n", "-stack", "prod", "add", "-store", "parameter", "https://A.example.com/"); code != 0 || !strings.Contains(out, "registered https://A.example.com/ as /docspace-backup-watch/prod/a.example.com") {
		t.Fatalf("add -store parameter = %d %s", code, out)
	}
	if code, out := portals(t, cfg, key, "-stack", "prod", "add", "https://s.example.com"); code != 0 {
		t.Fatalf("add (a secret) = %d %s", code, out)
	}
	if code, out := portals(t, cfg, key, "-stack", "staging", "add", "-store", "parameter", "https://staging.example.com"); code != 0 {
		t.Fatalf("add to staging = %d %s", code, out)
	}
	got, err := client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/docspace-backup-watch/prod/a.example.com"), WithDecryption: aws.Bool(true)})
	if err != nil || got.Parameter.Type != ssmtypes.ParameterTypeSecureString || aws.ToString(got.Parameter.Value) != `{"apiKey":"`+key+`","portalUrl":"https://a.example.com"}` {
		t.Fatalf("parameter = %+v, %v, want a SecureString in the bound form", got, err)
	}
	for _, bad := range []struct {
		stdin string
		args  []string
		code  int
	}{
		{"", []string{"-stack", "prod", "add", "-store", "parameter", "https://c.example.com"}, 1},                                             // no key on stdin
		{key, []string{"-stack", "prod", "add", "-store", "parameter", "http://c.example.com"}, 1},                                             // not https
		{key, []string{"-stack", "prod", "add", "-store", "parameter", "https://a.example.com"}, 1},                                            // already there
		{key, []string{"-stack", "prod", "add", "-store", "parameter", "-name", "/other/c", "https://c.example.com"}, 1},                       // outside the path
		{key, []string{"-stack", "prod", "add", "-store", "vault", "https://c.example.com"}, 2},                                                // unknown store
		{key, []string{"-stack", "prod", "add", "-kms-key", "alias/k", "https://c.example.com"}, 2},                                            // a key for a secret
		{key, []string{"-stack", "prod", "add", "https://a.example.com"}, 1},                                                                   // a secret for a portal with a parameter
		{key, []string{"-stack", "prod", "add", "-store", "parameter", "https://s.example.com"}, 1},                                            // a parameter for a portal with a secret
		{key, []string{"-stack", "prod", "add", "-store", "parameter", "-name", "/docspace-backup-watch/prod/a2", "https://a.example.com"}, 1}, // a second parameter
	} {
		if code, out := portals(t, cfg, bad.stdin, bad.args...); code != bad.code {
			t.Errorf("portals %q = %d (%s), want %d", bad.args, code, out, bad.code)
		}
	}
	// A parameter bound to http, put there by hand: listed as refused.
	value := `{"portalUrl":"http://plain.example.com","apiKey":"` + key + `"}`
	if _, err := client.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/docspace-backup-watch/prod/plain"), Value: aws.String(value), Type: ssmtypes.ParameterTypeSecureString}); err != nil {
		t.Fatal(err)
	}

	code, out := portals(t, cfg, "", "-stack", "prod", "list")
	rows := regexp.MustCompile(`\s+`).ReplaceAllString(out, " ")
	if code != 0 || !strings.Contains(rows, "/docspace-backup-watch/prod/a.example.com a.example.com") ||
		!strings.Contains(rows, "docspace/s.example.com s.example.com") || !strings.Contains(rows, "/docspace-backup-watch/prod/plain http://plain.example.com") ||
		strings.Contains(out, "staging.example.com") || !strings.Contains(out, "3 portal(s)") {
		t.Errorf("list = %d:\n%s\nwant the two parameters and the secret, not staging's portal", code, out)
	}

	if code, out := portals(t, cfg, "", "-stack", "prod", "remove", "/docspace-backup-watch/staging/staging.example.com", "-now"); code != 1 || !strings.Contains(out, "not registered") {
		t.Errorf("remove of another stack's parameter = %d %s, want refused", code, out)
	}
	if code, out := portals(t, cfg, "", "-stack", "prod", "remove", "/docspace-backup-watch/prod/a.example.com"); code != 1 || !strings.Contains(out, "-now") {
		t.Errorf("remove of a parameter without -now = %d %s, want refused, asking for -now", code, out)
	}
	if code, out := portals(t, cfg, "", "-stack", "prod", "remove", "/docspace-backup-watch/prod/a.example.com", "-now"); code != 0 {
		t.Errorf("remove -now = %d %s", code, out)
	}
	if _, out := portals(t, cfg, "", "-stack", "prod", "list"); strings.Contains(out, "a.example.com") || !strings.Contains(out, "2 portal(s)") {
		t.Errorf("list after remove:\n%s\nwant the secret and the http parameter", out)
	}
	if _, err := client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/docspace-backup-watch/staging/staging.example.com")}); err != nil {
		t.Errorf("staging's parameter is gone: %v", err)
	}
}

// TestListSaysDuplicatesAndMissingTags: list names a portal bound to two
// secrets (one made by hand beside one add made), saying which one runs
// use, and gives the command that tags the secret without the portal tag;
// a secret add made, alone for its portal, gets no note.
func TestListSaysDuplicatesAndMissingTags(t *testing.T) {
	ctx := context.Background()
	cfg := motoserver.AWSConfig(motoserver.Start(t))
	if code, out := portals(t, cfg, key, "-stack", "prod", "add", "-name", "z/added", "https://a.example.com"); code != 0 {
		t.Fatalf("add = %d %s", code, out)
	}
	if code, out := portals(t, cfg, key, "-stack", "prod", "add", "https://alone.example.com"); code != 0 {
		t.Fatalf("add = %d %s", code, out)
	}
	byHand, err := localrun.RegisterPortal(ctx, cfg, "a/by-hand", "https://A.example.com/", key, registry.DefaultTagKey, "prod")
	if err != nil {
		t.Fatal(err)
	}
	code, out := portals(t, cfg, "", "-stack", "prod", "list")
	if code != 0 || !strings.Contains(out, "portal a.example.com has 2 entries: runs use a/by-hand (its ARN sorts first; over the check queue, from the second run on), not z/added") {
		t.Errorf("list = %d:\n%s\nwant a.example.com's two entries named, a/by-hand used", code, out)
	}
	if want := "secret a/by-hand lacks the portal tag (a run over the check queue cannot tell its portal before reading the key): aws secretsmanager tag-resource --secret-id " + byHand + " --tags Key=docspace-backup-watch:portal,Value=a.example.com\n"; !strings.Contains(out, want) {
		t.Errorf("list:\n%s\nwant the line\n%s", out, want)
	}
	if strings.Count(out, "lacks the portal tag") != 1 || strings.Contains(out, "alone.example.com has") {
		t.Errorf("list:\n%s\nwant notes on a/by-hand and a.example.com alone", out)
	}

	// A secret whose portal tag names another portal: wrong, not missing.
	if _, err := secretsmanager.NewFromConfig(cfg).TagResource(ctx, &secretsmanager.TagResourceInput{SecretId: aws.String(byHand), Tags: []smtypes.Tag{{Key: aws.String(registry.PortalTagKey), Value: aws.String("b.example.com")}}}); err != nil {
		t.Fatal(err)
	}
	code, out = portals(t, cfg, "", "-stack", "prod", "list")
	if want := "secret a/by-hand has a wrong portal tag (b.example.com; its key is bound to a.example.com): aws secretsmanager tag-resource --secret-id " + byHand + " --tags Key=docspace-backup-watch:portal,Value=a.example.com\n"; code != 0 || !strings.Contains(out, want) || strings.Contains(out, "lacks the portal tag") {
		t.Errorf("list = %d:\n%s\nwant the line\n%s\nand no missing tag", code, out, want)
	}
}

// TestListSaysMissingDescription: list says which parameter lacks the
// description add writes (one put by hand), which a run reads its portal
// from, and how to give it one; a parameter add made gets no note.
func TestListSaysMissingDescription(t *testing.T) {
	ctx := context.Background()
	cfg := motoserver.AWSConfig(motoserver.Start(t))
	if code, out := portals(t, cfg, key, "-stack", "prod", "add", "-store", "parameter", "https://added.example.com"); code != 0 {
		t.Fatalf("add = %d %s", code, out)
	}
	if _, err := localrun.RegisterParameterPortal(ctx, cfg, "/docspace-backup-watch/prod/by-hand", "https://hand.example.com", key, false); err != nil {
		t.Fatal(err)
	}
	code, out := portals(t, cfg, "", "-stack", "prod", "list")
	want := "parameter /docspace-backup-watch/prod/by-hand lacks the description add writes (a run over the check queue cannot tell its portal before reading the key): remove it (remove -now) and add it again (add -store parameter)\n"
	if code != 0 || !strings.Contains(out, want) || strings.Count(out, "lacks the description") != 1 {
		t.Errorf("list = %d:\n%s\nwant the line\n%s\nand no other", code, out, want)
	}
}
