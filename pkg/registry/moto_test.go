package registry

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/docspace-backup-watch/docspace-backup-watch/internal/motoserver"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/docspace"
)

// TestPortalsMoto registers secrets in moto_server with and without the
// tag, more than one page of them, and removes two (one scheduled for
// deletion, one deleted at once).
func TestPortalsMoto(t *testing.T) {
	ctx := context.Background()
	client := secretsmanager.NewFromConfig(motoserver.AWSConfig(motoserver.Start(t)))
	create := func(name string, tags ...string) {
		t.Helper()
		in := &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(`{"portalUrl":"https://` + name + `.example.com","apiKey":"sk-x"}`)}
		for i := 0; i+1 < len(tags); i += 2 {
			in.Tags = append(in.Tags, smtypes.Tag{Key: aws.String(tags[i]), Value: aws.String(tags[i+1])})
		}
		if _, err := client.CreateSecret(ctx, in); err != nil {
			t.Fatalf("CreateSecret(%s) error = %v", name, err)
		}
	}
	var want []string
	for i := range 5 {
		name := fmt.Sprintf("portal-%d", i)
		create(name, DefaultTagKey, "prod")
		want = append(want, name)
	}
	create("untagged")
	create("staging-portal", DefaultTagKey, "staging")
	create("prefix-portal", DefaultTagKey, "production")
	create("other-tag", "owner", "prod")

	r, err := New(client, prod, WithPageSize(2), WithTTL(0))
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.Portals(ctx)
	if err != nil {
		t.Fatalf("Portals() error = %v", err)
	}
	if slices.Sort(want); !slices.Equal(sorted(names(got)), want) {
		t.Fatalf("Portals() = %v, want %v", names(got), want)
	}
	for _, e := range got {
		if !strings.HasPrefix(e.SecretID, "arn:aws:secretsmanager:") || !strings.Contains(e.SecretID, ":secret:"+e.Name+"-") {
			t.Errorf("entry %v: SecretID is not the secret's ARN", e)
		}
	}

	if _, err := client.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String("portal-1")}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String("portal-3"), ForceDeleteWithoutRecovery: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	got, err = r.Portals(ctx)
	if want := []string{"portal-0", "portal-2", "portal-4"}; err != nil || !slices.Equal(sorted(names(got)), want) {
		t.Errorf("after removing portal-1 and portal-3: Portals() = %v, %v, want %v", names(got), err, want)
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// TestRegisterRefusesASecondSecretMoto: a portal already bound to a
// registered secret is refused a second one, by any name, and the error
// names both; another portal (another host or base path) and a portal
// bound only to an unregistered secret are registered.
func TestRegisterRefusesASecondSecretMoto(t *testing.T) {
	ctx := context.Background()
	client := secretsmanager.NewFromConfig(motoserver.AWSConfig(motoserver.Start(t)))
	tag := Tag{Key: DefaultTagKey, Value: "dup-stack"}
	const key = docspace.APIKey("sk-0123456789abcdef0123456789abcdef")
	first, err := Register(ctx, client, tag, "", "https://dup.example.com", key)
	if err != nil {
		t.Fatalf("Register(first) error = %v", err)
	}
	for _, url := range []string{"https://dup.example.com", "https://DUP.example.com/"} {
		_, err = Register(ctx, client, tag, "docspace/dup-again", url, key)
		if !errors.Is(err, ErrAlreadyRegistered) || !strings.Contains(err.Error(), first) || !strings.Contains(err.Error(), "docspace/dup-again") {
			t.Errorf("Register(second for %s) error = %v, want ErrAlreadyRegistered naming %s and docspace/dup-again", url, err, first)
		}
	}
	if _, err := Register(ctx, client, tag, "", "https://dup.example.com/docspace", key); err != nil {
		t.Errorf("Register(another base path) error = %v, want nil", err)
	}
	if _, err := Register(ctx, client, tag, "", "https://other.example.com", key); err != nil {
		t.Errorf("Register(another portal) error = %v, want nil", err)
	}
	// A secret for the portal that is not registered (no tag) is no
	// obstacle: the function never reads it.
	if _, err := client.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("loose"), SecretString: aws.String(`{"portalUrl":"https://loose.example.com","apiKey":"sk-x"}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := Register(ctx, client, tag, "", "https://loose.example.com", key); err != nil {
		t.Errorf("Register(portal of an untagged secret) error = %v, want nil", err)
	}
	bound, err := BoundTo(ctx, client, tag, "dup.example.com")
	if err != nil || len(bound) != 1 || bound[0].SecretID != first {
		t.Errorf("BoundTo(dup.example.com) = %v, %v, want the first secret alone", bound, err)
	}
}
