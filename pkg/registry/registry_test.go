package registry

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go"
)

// fakeLister serves secrets in pages of the requested size; its tokens are
// offsets, as moto's are.
type fakeLister struct {
	secrets []smtypes.SecretListEntry
	err     error
	calls   int
	// repeat makes every page's token the same.
	repeat bool
}

func (f *fakeLister) ListSecrets(_ context.Context, in *secretsmanager.ListSecretsInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.ListSecretsOutput, error) {
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	start, _ := strconv.Atoi(aws.ToString(in.NextToken))
	end := min(start+int(aws.ToInt32(in.MaxResults)), len(f.secrets))
	out := &secretsmanager.ListSecretsOutput{SecretList: f.secrets[start:end]}
	if end < len(f.secrets) {
		out.NextToken = aws.String(strconv.Itoa(end))
		if f.repeat {
			out.NextToken = aws.String("same")
		}
	}
	return out, nil
}

func secret(name string, tags ...string) smtypes.SecretListEntry {
	s := smtypes.SecretListEntry{ARN: aws.String("arn:aws:secretsmanager:us-east-1:123456789012:secret:" + name), Name: aws.String(name)}
	for i := 0; i+1 < len(tags); i += 2 {
		s.Tags = append(s.Tags, smtypes.Tag{Key: aws.String(tags[i]), Value: aws.String(tags[i+1])})
	}
	return s
}

var prod = Tag{Key: DefaultTagKey, Value: "prod"}

func names(es []Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Name)
	}
	return out
}

func TestPortals(t *testing.T) {
	deleted := secret("deleted", DefaultTagKey, "prod")
	deleted.DeletedDate = aws.Time(time.Now())
	tests := []struct {
		name    string
		secrets []smtypes.SecretListEntry
		want    []string
	}{
		{"exact tag only", []smtypes.SecretListEntry{
			secret("a", DefaultTagKey, "prod"),
			secret("prefix value", DefaultTagKey, "production"),
			secret("prefix key", DefaultTagKey+"-x", "prod"),
			secret("value on another key", "other", "prod", DefaultTagKey+"x", "y"),
			secret("untagged"),
			secret("b", "team", "ops", DefaultTagKey, "prod"),
		}, []string{"a", "b"}},
		{"scheduled for deletion", []smtypes.SecretListEntry{secret("a", DefaultTagKey, "prod"), deleted}, []string{"a"}},
		{"listed twice", []smtypes.SecretListEntry{secret("a", DefaultTagKey, "prod"), secret("a", DefaultTagKey, "prod")}, []string{"a"}},
		{"none", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := New(&fakeLister{secrets: tt.secrets}, prod, WithPageSize(2))
			if err != nil {
				t.Fatal(err)
			}
			got, err := r.Portals(context.Background())
			if err != nil || !slices.Equal(names(got), tt.want) {
				t.Errorf("Portals() = %v, %v, want %v", names(got), err, tt.want)
			}
		})
	}
}

func TestPortalsPagesAndCaches(t *testing.T) {
	var all []smtypes.SecretListEntry
	var want []string
	for i := range 7 {
		name := fmt.Sprintf("p%d", i)
		all = append(all, secret(name, DefaultTagKey, "prod"))
		want = append(want, name)
	}
	f := &fakeLister{secrets: all}
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	r, err := New(f, prod, WithPageSize(3), WithTTL(time.Minute), WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.Portals(context.Background())
	if err != nil || !slices.Equal(names(got), want) || f.calls != 3 {
		t.Fatalf("Portals() = %v, %v after %d calls, want %v after 3 pages", names(got), err, f.calls, want)
	}
	f.secrets = all[:1]
	now = now.Add(59 * time.Second)
	if got, _ := r.Portals(context.Background()); len(got) != 7 || f.calls != 3 {
		t.Errorf("within the TTL: %d portals after %d calls, want the cached 7 and no call", len(got), f.calls)
	}
	now = now.Add(time.Second)
	if got, _ := r.Portals(context.Background()); !slices.Equal(names(got), []string{"p0"}) || f.calls != 4 {
		t.Errorf("after the TTL: %v after %d calls, want [p0] from a new listing", names(got), f.calls)
	}
}

func TestRefreshBypassesTheCache(t *testing.T) {
	f := &fakeLister{secrets: []smtypes.SecretListEntry{secret("p0", DefaultTagKey, "prod"), secret("p1", DefaultTagKey, "prod")}}
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	r, err := New(f, prod, WithTTL(time.Minute), WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Portals(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.secrets = f.secrets[1:]
	for _, l := range []interface {
		Refresh(context.Context) ([]Entry, error)
	}{r, All{r}} {
		if got, err := l.Refresh(context.Background()); err != nil || !slices.Equal(names(got), []string{"p1"}) {
			t.Errorf("Refresh() within the TTL = %v, %v, want [p1] from a new listing", names(got), err)
		}
	}
	if got, _ := r.Portals(context.Background()); !slices.Equal(names(got), []string{"p1"}) {
		t.Errorf("Portals() after Refresh = %v, want the refreshed [p1]", names(got))
	}
}

func TestPortalsErrors(t *testing.T) {
	denied := &fakeLister{err: &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "no"}}
	r, _ := New(denied, prod)
	if _, err := r.Portals(context.Background()); !errors.Is(err, ErrAccessDenied) {
		t.Errorf("Portals() with access denied: error = %v, want ErrAccessDenied", err)
	}
	if _, err := r.Portals(context.Background()); denied.calls != 2 || err == nil {
		t.Errorf("a failed listing was cached: %d calls, error %v", denied.calls, err)
	}
	loop := &fakeLister{secrets: []smtypes.SecretListEntry{secret("a", DefaultTagKey, "prod"), secret("b", DefaultTagKey, "prod"), secret("c", DefaultTagKey, "prod")}, repeat: true}
	r, _ = New(loop, prod, WithPageSize(1))
	if _, err := r.Portals(context.Background()); err == nil {
		t.Error("Portals() with a repeated page token: no error")
	}
	many := &fakeLister{secrets: []smtypes.SecretListEntry{secret("a", DefaultTagKey, "prod"), secret("b", DefaultTagKey, "prod")}}
	r, _ = New(many, prod, WithMaxPortals(1))
	if _, err := r.Portals(context.Background()); err == nil {
		t.Error("Portals() over the maximum: no error")
	}
}

func TestNewValidates(t *testing.T) {
	for _, tc := range []struct {
		tag  Tag
		opts []Option
	}{
		{Tag{"", "prod"}, nil},
		{Tag{DefaultTagKey, " "}, nil},
		{Tag{"aws:cloudformation:stack-name", "prod"}, nil},
		{prod, []Option{WithPageSize(101)}},
		{prod, []Option{WithTTL(-time.Second)}},
		{prod, []Option{WithMaxPortals(0)}},
	} {
		if _, err := New(&fakeLister{}, tc.tag, tc.opts...); err == nil {
			t.Errorf("New(%v, %d options) error = nil, want one", tc.tag, len(tc.opts))
		}
	}
}
