package registry

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/docspace-backup-watch/docspace-backup-watch/internal/motoserver"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/docspace"
)

func TestPortalTagValue(t *testing.T) {
	long := "a.example.com/" + strings.Repeat("d", 250)
	tests := []struct {
		portal, want string
	}{
		{"portal.example.com", "portal.example.com"},
		{"example.com:8443/docspace", "example.com:8443/docspace"},
		{"[2001:db8::1]:8443", "sha256:"},
		{"example.com/доки", "example.com/доки"},
		{"example.com/a~b", "sha256:"},
		{long, "sha256:"},
		{"", "sha256:"},
	}
	for _, tt := range tests {
		got := PortalTagValue(tt.portal)
		if tt.want == "sha256:" {
			if !strings.HasPrefix(got, "sha256:") || len(got) != 7+64 {
				t.Errorf("PortalTagValue(%q) = %q, want sha256: and 64 hex digits", tt.portal, got)
			}
			continue
		}
		if got != tt.want {
			t.Errorf("PortalTagValue(%q) = %q, want %q", tt.portal, got, tt.want)
		}
	}
	if PortalTagValue(long) == PortalTagValue(long+"x") {
		t.Error("two long names share a tag value")
	}
	if err := (Tag{Key: PortalTagKey, Value: "prod"}).Validate(); err == nil {
		t.Errorf("Tag{%s}.Validate() = nil, want the portal tag refused as a stack's", PortalTagKey)
	}
}

func TestOnePerPortal(t *testing.T) {
	e := func(id, portal string) Entry { return Entry{SecretID: "arn:" + id, Name: id, Portal: portal} }
	tests := []struct {
		name     string
		in       []Entry
		kept     string
		notUsed  string
		usedInst string
	}{
		{"none shared", []Entry{e("a", "p"), e("b", "q"), e("c", "")}, "[a b c]", "[]", "[]"},
		{"second sorts first", []Entry{e("z", "p"), e("b", "q"), e("a", "p")}, "[b a]", "[z]", "[a]"},
		{"first sorts first", []Entry{e("a", "p"), e("z", "p")}, "[a]", "[z]", "[a]"},
		{"three for one", []Entry{e("m", "p"), e("z", "p"), e("c", "p")}, "[c]", "[m z]", "[c c]"},
		{"untagged never merged", []Entry{e("a", ""), e("b", "")}, "[a b]", "[]", "[]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kept, dups := OnePerPortal(tt.in)
			notUsed, used := []string{}, []string{}
			for _, d := range dups {
				notUsed, used = append(notUsed, d.NotUsed.Name), append(used, d.Used.Name)
				if d.Portal != d.Used.Portal || d.Portal != d.NotUsed.Portal {
					t.Errorf("duplicate %+v: the entries' portals differ from its Portal", d)
				}
			}
			if got := fmt.Sprint(names(kept)); got != tt.kept {
				t.Errorf("OnePerPortal() kept %s, want %s", got, tt.kept)
			}
			if fmt.Sprint(notUsed) != tt.notUsed || fmt.Sprint(used) != tt.usedInst {
				t.Errorf("OnePerPortal() duplicates: not used %v instead of %v, want %s instead of %s", notUsed, used, tt.notUsed, tt.usedInst)
			}
		})
	}
}

// TestRegisterTagsThePortalMoto: Register and RegisterParameter put the
// portal tag on what they create, with the value of the portal's one
// name, and the secrets' listing carries it.
func TestRegisterTagsThePortalMoto(t *testing.T) {
	ctx := context.Background()
	cfg := motoserver.AWSConfig(motoserver.Start(t))
	sm := secretsmanager.NewFromConfig(cfg)
	tag := Tag{Key: DefaultTagKey, Value: "tagged"}
	const key = docspace.APIKey("sk-0123456789abcdef0123456789abcdef")
	arn, err := Register(ctx, sm, tag, "", "https://Tagged.Example.com:443/docspace/", key)
	if err != nil {
		t.Fatal(err)
	}
	d, err := sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	if got := tagValue(d.Tags, PortalTagKey); got != "tagged.example.com/docspace" {
		t.Errorf("secret's %s tag = %q, want tagged.example.com/docspace", PortalTagKey, got)
	}
	r, err := New(sm, tag, WithTTL(0))
	if err != nil {
		t.Fatal(err)
	}
	entries, err := r.Portals(ctx)
	if err != nil || len(entries) != 1 || entries[0].Portal != "tagged.example.com/docspace" {
		t.Errorf("Portals() = %+v, %v, want the secret with its portal", entries, err)
	}

	client := ssm.NewFromConfig(cfg)
	name, err := RegisterParameter(ctx, client, "/docspace-backup-watch/tagged", "", "https://tagged.example.com:8443", key, "")
	if err != nil {
		t.Fatal(err)
	}
	tags, err := client.ListTagsForResource(ctx, &ssm.ListTagsForResourceInput{ResourceType: ssmtypes.ResourceTypeForTaggingParameter, ResourceId: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	var got string
	for _, tg := range tags.TagList {
		if aws.ToString(tg.Key) == PortalTagKey {
			got = aws.ToString(tg.Value)
		}
	}
	if got != "tagged.example.com:8443" {
		t.Errorf("parameter's %s tag = %q, want tagged.example.com:8443", PortalTagKey, got)
	}
}
