package registry

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"

	"github.com/docspace-backup-watch/docspace-backup-watch/internal/motoserver"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/docspace"
)

// fakeParameterLister serves parameters' metadata in pages of the
// requested size; its tokens are offsets, as moto's are. With noARN the
// metadata carries no ARN, and GetParameters gives it.
type fakeParameterLister struct {
	params []ssmtypes.ParameterMetadata
	err    error
	calls  int
	repeat bool
	noARN  bool
	gets   int
}

func (f *fakeParameterLister) DescribeParameters(_ context.Context, in *ssm.DescribeParametersInput, _ ...func(*ssm.Options)) (*ssm.DescribeParametersOutput, error) {
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	if fs := in.ParameterFilters; len(fs) != 1 || aws.ToString(fs[0].Key) != "Path" || aws.ToString(fs[0].Option) != "Recursive" || len(fs[0].Values) != 1 || aws.ToInt32(in.MaxResults) > MaxParameterPageSize {
		return nil, fmt.Errorf("listing with filters %+v, %d a page", in.ParameterFilters, aws.ToInt32(in.MaxResults))
	}
	start, _ := strconv.Atoi(aws.ToString(in.NextToken))
	end := min(start+int(aws.ToInt32(in.MaxResults)), len(f.params))
	out := &ssm.DescribeParametersOutput{}
	for _, p := range f.params[start:end] {
		if f.noARN {
			p.ARN = nil
		}
		out.Parameters = append(out.Parameters, p)
	}
	if end < len(f.params) {
		out.NextToken = aws.String(strconv.Itoa(end))
		if f.repeat {
			out.NextToken = aws.String("same")
		}
	}
	return out, nil
}

func (f *fakeParameterLister) GetParameters(_ context.Context, in *ssm.GetParametersInput, _ ...func(*ssm.Options)) (*ssm.GetParametersOutput, error) {
	f.gets++
	if aws.ToBool(in.WithDecryption) || len(in.Names) > 10 {
		return nil, fmt.Errorf("reading %d parameters, decrypted %v", len(in.Names), aws.ToBool(in.WithDecryption))
	}
	out := &ssm.GetParametersOutput{}
	for _, p := range f.params {
		if slices.Contains(in.Names, aws.ToString(p.Name)) {
			out.Parameters = append(out.Parameters, ssmtypes.Parameter{Name: p.Name, ARN: p.ARN, Type: p.Type})
		}
	}
	return out, nil
}

func parameter(name string) ssmtypes.ParameterMetadata {
	return ssmtypes.ParameterMetadata{Name: aws.String(name), ARN: aws.String("arn:aws:ssm:us-east-1:123456789012:parameter" + name), Type: ssmtypes.ParameterTypeSecureString}
}

const prodPath = "/docspace-backup-watch/prod"

// TestParameterPortals: the registry pages through the path's metadata
// (DescribeParameters, at most 50 a page, never a value), keeps each
// parameter's ARN as its id (asked of GetParameters, undecrypted, when the
// metadata lacks it), skips a parameter outside the path, and fails on a
// repeated page token, more parameters than its maximum, or a denied
// listing.
func TestParameterPortals(t *testing.T) {
	var params []ssmtypes.ParameterMetadata
	var want []string
	for i := range 7 {
		name := fmt.Sprintf("%s/p%d.example.com", prodPath, i)
		params = append(params, parameter(name))
		want = append(want, name)
	}
	params = append(params, parameter("/docspace-backup-watch/production/x.example.com"))
	f := &fakeParameterLister{params: params}
	r, err := NewParameters(f, prodPath, WithPageSize(3), WithTTL(0))
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.Portals(context.Background())
	if err != nil || !slices.Equal(names(got), want) || f.calls != 3 {
		t.Fatalf("Portals() = %v, %v after %d calls, want %v in 3 pages", names(got), err, f.calls, want)
	}
	if got[0].SecretID != "arn:aws:ssm:us-east-1:123456789012:parameter"+want[0] {
		t.Errorf("entry %v: SecretID is not the parameter's ARN", got[0])
	}
	if r.String() != "parameters under "+prodPath || r.Tag() != (Tag{}) {
		t.Errorf("String() = %q, Tag() = %v", r.String(), r.Tag())
	}
	noARN := &fakeParameterLister{params: params, noARN: true}
	if r, _ := NewParameters(noARN, prodPath, WithPageSize(50)); r != nil {
		got, err := r.Portals(context.Background())
		if err != nil || len(got) != 7 || got[6].SecretID != "arn:aws:ssm:us-east-1:123456789012:parameter"+want[6] || noARN.calls != 1 || noARN.gets != 1 {
			t.Errorf("metadata without ARNs: Portals() = %v, %v after %d+%d calls, want the ARNs from one GetParameters call", got, err, noARN.calls, noARN.gets)
		}
	}

	if r, _ := NewParameters(&fakeParameterLister{params: params, repeat: true}, prodPath, WithPageSize(2)); r != nil {
		if _, err := r.Portals(context.Background()); err == nil || !strings.Contains(err.Error(), "repeated") {
			t.Errorf("repeated token: error = %v", err)
		}
	}
	if r, _ := NewParameters(&fakeParameterLister{params: params}, prodPath, WithMaxPortals(5)); r != nil {
		if _, err := r.Portals(context.Background()); err == nil || !strings.Contains(err.Error(), "more than 5") {
			t.Errorf("over the maximum: error = %v", err)
		}
	}
	denied := &fakeParameterLister{err: &smithy.GenericAPIError{Code: "AccessDeniedException"}}
	if r, _ := NewParameters(denied, prodPath); r != nil {
		if _, err := r.Portals(context.Background()); !errors.Is(err, ErrAccessDenied) || !strings.Contains(err.Error(), "ssm:DescribeParameters") {
			t.Errorf("denied: error = %v, want ErrAccessDenied naming ssm:DescribeParameters", err)
		}
	}
	for _, bad := range []string{"", "docspace", "/docspace/", "/aws/x", "/ssm", "/a b", "/a:b"} {
		if _, err := NewParameters(f, bad); err == nil {
			t.Errorf("NewParameters(%q) error = nil, want one", bad)
		}
	}
	if _, err := NewParameters(f, prodPath, WithPageSize(51)); err == nil {
		t.Error("NewParameters(page size 51) error = nil, want one (DescribeParameters allows 50)")
	}
}

// TestAllPortals: the registries' entries together; a failed listing does
// not hide the other registry's portals.
func TestAllPortals(t *testing.T) {
	params, _ := NewParameters(&fakeParameterLister{params: []ssmtypes.ParameterMetadata{parameter(prodPath + "/a.example.com")}}, prodPath)
	secrets, _ := New(&fakeLister{secrets: []smtypes.SecretListEntry{secret("b", DefaultTagKey, "prod")}}, prod)
	got, err := All{secrets, params}.Portals(context.Background())
	if err != nil || !slices.Equal(names(got), []string{"b", prodPath + "/a.example.com"}) {
		t.Errorf("All.Portals() = %v, %v", names(got), err)
	}
	denied, _ := New(&fakeLister{err: &smithy.GenericAPIError{Code: "AccessDeniedException"}}, prod)
	got, err = All{denied, params}.Portals(context.Background())
	if !errors.Is(err, ErrAccessDenied) || !slices.Equal(names(got), []string{prodPath + "/a.example.com"}) {
		t.Errorf("All.Portals() with the secrets denied = %v, %v; want the parameter and ErrAccessDenied", names(got), err)
	}
	if s := (All{secrets, params}).String(); s != "secrets tagged docspace-backup-watch=prod and parameters under "+prodPath {
		t.Errorf("All.String() = %q", s)
	}
}

// TestParametersMoto registers portals in moto_server's Parameter Store
// under the stack's path, more than one page of them, and beside it
// (another stack, a path that only starts the same, the path's own
// name); removes one; and refuses to remove a parameter of another stack.
func TestParametersMoto(t *testing.T) {
	ctx := context.Background()
	client := ssm.NewFromConfig(motoserver.AWSConfig(motoserver.Start(t)))
	const key = docspace.APIKey("sk-registry-parameter-0123456789")
	var want []string
	for i := range 5 {
		name, err := RegisterParameter(ctx, client, prodPath, "", fmt.Sprintf("https://p%d.example.com:8443/docspace/", i), key, "")
		if err != nil {
			t.Fatalf("RegisterParameter() error = %v", err)
		}
		want = append(want, name)
	}
	if want[0] != prodPath+"/p0.example.com_8443/docspace" {
		t.Errorf("default name = %q, want the path and the portal's name, the colon made _", want[0])
	}
	if _, err := RegisterParameter(ctx, client, prodPath, "", "https://p0.example.com:8443/docspace", key, ""); err == nil {
		t.Error("RegisterParameter(the same portal again) error = nil, want one (no overwrite)")
	}
	if _, err := RegisterParameter(ctx, client, prodPath, prodPath+"/second", "https://P0.example.com:8443/docspace/", key, ""); !errors.Is(err, ErrAlreadyRegistered) || !strings.Contains(err.Error(), want[0]) {
		t.Errorf("RegisterParameter(the same portal under another name) error = %v, want ErrAlreadyRegistered naming %s", err, want[0])
	}
	for _, other := range []string{"/docspace-backup-watch/staging", "/docspace-backup-watch/production"} {
		if _, err := RegisterParameter(ctx, client, other, "", "https://o.example.com", key, ""); err != nil {
			t.Fatal(err)
		}
	}
	for name, url := range map[string]string{"": "http://plain.example.com", prodPath + "-x/y": "https://y.example.com", "/elsewhere/z": "https://z.example.com"} {
		if _, err := RegisterParameter(ctx, client, prodPath, name, url, key, ""); err == nil {
			t.Errorf("RegisterParameter(%q, %s) error = nil, want refused", name, url)
		}
	}
	got, err := client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(want[1]), WithDecryption: aws.Bool(true)})
	if err != nil || got.Parameter.Type != ssmtypes.ParameterTypeSecureString || aws.ToString(got.Parameter.Value) != `{"apiKey":"`+string(key)+`","portalUrl":"https://p1.example.com:8443/docspace"}` {
		t.Fatalf("parameter %s = %+v, %v; want a SecureString in the bound form", want[1], got, err)
	}

	r, err := NewParameters(client, prodPath, WithPageSize(2), WithTTL(0))
	if err != nil {
		t.Fatal(err)
	}
	entries, err := r.Portals(ctx)
	if slices.Sort(want); err != nil || !slices.Equal(sorted(names(entries)), want) {
		t.Fatalf("Portals() = %v, %v, want %v", names(entries), err, want)
	}
	for _, e := range entries {
		if e.SecretID != "arn:aws:ssm:us-east-1:123456789012:parameter"+e.Name {
			t.Errorf("entry %v: SecretID is not the parameter's ARN", e)
		}
		// The portal, from the description registration wrote.
		if want := PortalTagValue(strings.ReplaceAll(strings.TrimPrefix(e.Name, prodPath+"/"), "_", ":")); e.Portal != want {
			t.Errorf("entry %v: Portal = %q, want %q", e, e.Portal, want)
		}
	}

	if err := RemoveParameter(ctx, client, prodPath, "/docspace-backup-watch/staging/o.example.com"); !errors.Is(err, ErrNotRegistered) {
		t.Errorf("RemoveParameter(another stack's) error = %v, want ErrNotRegistered", err)
	}
	if err := RemoveParameter(ctx, client, prodPath, want[2]); err != nil {
		t.Fatal(err)
	}
	if err := RemoveParameter(ctx, client, prodPath, want[2]); err == nil {
		t.Error("RemoveParameter(removed) error = nil, want not found")
	}
	entries, err = r.Portals(ctx)
	if want = slices.Delete(want, 2, 3); err != nil || !slices.Equal(sorted(names(entries)), want) {
		t.Errorf("after removing one: Portals() = %v, %v, want %v", names(entries), err, want)
	}
}

// TestParameterPortalFromDescription: the listing reads a parameter's
// portal from the description RegisterParameter gives it, and from no
// other: a description written by hand, for another path, or naming
// something that is not a portal's name leaves the entry without a portal.
func TestParameterPortalFromDescription(t *testing.T) {
	long := "long.example.com/" + strings.Repeat("x", 300)
	for _, tc := range []struct {
		description, want string
	}{
		{ParameterDescription("b.example.com", prodPath), "b.example.com"},
		{ParameterDescription("b.example.com:8443/docspace", prodPath), "b.example.com:8443/docspace"},
		{ParameterDescription("[2001:db8::1]/d", prodPath), "[2001:db8::1]/d"},
		{ParameterDescription(long, prodPath), PortalTagValue(long)},
		{ParameterDescription("b.example.com", prodPath+"-x"), ""},
		{ParameterDescription("b.example.com", "/docspace-backup-watch"), ""},
		{ParameterDescription("B.example.com", prodPath), ""},
		{ParameterDescription("b.example.com:443", prodPath), ""},
		{ParameterDescription("b.example.com/", prodPath), ""},
		{ParameterDescription("b.example.com/?q=1", prodPath), ""},
		{ParameterDescription("user@b.example.com", prodPath), ""},
		{ParameterDescription("", prodPath), ""},
		{"DocSpace API key for b.example.com", ""},
		{"the key of b.example.com", ""},
		{"", ""},
		{ParameterDescription("b.example.com", prodPath) + " ", ""},
	} {
		meta := parameter(prodPath + "/p")
		meta.Description = aws.String(tc.description)
		r, err := NewParameters(&fakeParameterLister{params: []ssmtypes.ParameterMetadata{meta}}, prodPath)
		if err != nil {
			t.Fatal(err)
		}
		got, err := r.Portals(context.Background())
		want := tc.want
		if want != "" {
			want = PortalTagValue(want)
		}
		if err != nil || len(got) != 1 || got[0].Portal != want {
			t.Errorf("description %q: Portals() = %+v, %v; want Portal %q", tc.description, got, err, want)
		}
	}
}

// TestParametersTwoForOnePortalMoto: a second parameter bound to a
// registered portal (made by hand with the description registration
// writes, which RegisterParameter itself refuses), listed a page after the
// first in moto_server's Parameter Store: both entries carry the portal,
// so OnePerPortal keeps the one whose ARN sorts first and names the other,
// and the listing decrypts nothing.
func TestParametersTwoForOnePortalMoto(t *testing.T) {
	ctx := context.Background()
	client := &decryptCounter{Client: ssm.NewFromConfig(motoserver.AWSConfig(motoserver.Start(t)))}
	const key = docspace.APIKey("sk-registry-parameter-0123456789")
	// Registered first, listed first; its name sorts last.
	later, err := RegisterParameter(ctx, client, prodPath, prodPath+"/z-twice", "https://twice.example.com/docspace", key, "")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if _, err := RegisterParameter(ctx, client, prodPath, "", fmt.Sprintf("https://other%d.example.com", i), key, ""); err != nil {
			t.Fatal(err)
		}
	}
	first := prodPath + "/a-twice"
	if _, err := client.PutParameter(ctx, &ssm.PutParameterInput{
		Name: aws.String(first), Type: ssmtypes.ParameterTypeSecureString,
		Value:       aws.String(`{"portalUrl":"https://twice.example.com/docspace","apiKey":"sk-by-hand-0123456789"}`),
		Description: aws.String(ParameterDescription("twice.example.com/docspace", prodPath)),
	}); err != nil {
		t.Fatal(err)
	}
	client.decrypted.Store(0)
	r, err := NewParameters(client, prodPath, WithTTL(0))
	if err != nil {
		t.Fatal(err)
	}
	entries, err := r.Portals(ctx)
	if err != nil || len(entries) != 12 {
		t.Fatalf("Portals() = %v, %v, want 12 entries", names(entries), err)
	}
	if entries[0].Name != later || entries[11].Name != first {
		t.Fatalf("listed %s first and %s last, want %s and %s in different pages", entries[0].Name, entries[11].Name, later, first)
	}
	kept, dups := OnePerPortal(entries)
	arn := "arn:aws:ssm:us-east-1:123456789012:parameter"
	if len(kept) != 11 || len(dups) != 1 || dups[0].Used.SecretID != arn+first || dups[0].NotUsed.SecretID != arn+later || dups[0].Portal != "twice.example.com/docspace" {
		t.Errorf("OnePerPortal() kept %d, duplicates %+v; want %s used instead of %s for twice.example.com/docspace", len(kept), dups, first, later)
	}
	if n := client.decrypted.Load(); n != 0 {
		t.Errorf("the listing made %d decrypted read(s), want none", n)
	}
}

// decryptCounter counts the calls that would decrypt a parameter's value.
type decryptCounter struct {
	*ssm.Client
	decrypted atomic.Int64
}

func (c *decryptCounter) GetParameters(ctx context.Context, in *ssm.GetParametersInput, opts ...func(*ssm.Options)) (*ssm.GetParametersOutput, error) {
	if aws.ToBool(in.WithDecryption) {
		c.decrypted.Add(1)
	}
	return c.Client.GetParameters(ctx, in, opts...)
}

func (c *decryptCounter) GetParameter(ctx context.Context, in *ssm.GetParameterInput, opts ...func(*ssm.Options)) (*ssm.GetParameterOutput, error) {
	if aws.ToBool(in.WithDecryption) {
		c.decrypted.Add(1)
	}
	return c.Client.GetParameter(ctx, in, opts...)
}
