package registry

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"

	"github.com/docspace-backup-watch/docspace-backup-watch/internal/motoserver"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/docspace"
)

// fakeParameterLister serves parameters in pages of the requested size;
// its tokens are offsets, as moto's are.
type fakeParameterLister struct {
	params []ssmtypes.Parameter
	err    error
	calls  int
	repeat bool
}

func (f *fakeParameterLister) GetParametersByPath(_ context.Context, in *ssm.GetParametersByPathInput, _ ...func(*ssm.Options)) (*ssm.GetParametersByPathOutput, error) {
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	if aws.ToBool(in.WithDecryption) || aws.ToInt32(in.MaxResults) > MaxParameterPageSize {
		return nil, fmt.Errorf("listing with decryption %v, %d a page", aws.ToBool(in.WithDecryption), aws.ToInt32(in.MaxResults))
	}
	start, _ := strconv.Atoi(aws.ToString(in.NextToken))
	end := min(start+int(aws.ToInt32(in.MaxResults)), len(f.params))
	out := &ssm.GetParametersByPathOutput{Parameters: f.params[start:end]}
	if end < len(f.params) {
		out.NextToken = aws.String(strconv.Itoa(end))
		if f.repeat {
			out.NextToken = aws.String("same")
		}
	}
	return out, nil
}

func parameter(name string) ssmtypes.Parameter {
	return ssmtypes.Parameter{Name: aws.String(name), ARN: aws.String("arn:aws:ssm:us-east-1:123456789012:parameter" + name), Type: ssmtypes.ParameterTypeSecureString}
}

const prodPath = "/docspace-backup-watch/prod"

// TestParameterPortals: the registry pages through the path (at most 10 a
// page, without decryption), keeps each parameter's ARN as its id, skips a
// parameter outside the path, and fails on a repeated page token, more
// parameters than its maximum, or a denied listing.
func TestParameterPortals(t *testing.T) {
	var params []ssmtypes.Parameter
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
		if _, err := r.Portals(context.Background()); !errors.Is(err, ErrAccessDenied) || !strings.Contains(err.Error(), "ssm:GetParametersByPath") {
			t.Errorf("denied: error = %v, want ErrAccessDenied naming ssm:GetParametersByPath", err)
		}
	}
	for _, bad := range []string{"", "docspace", "/docspace/", "/aws/x", "/ssm", "/a b", "/a:b"} {
		if _, err := NewParameters(f, bad); err == nil {
			t.Errorf("NewParameters(%q) error = nil, want one", bad)
		}
	}
	if _, err := NewParameters(f, prodPath, WithPageSize(11)); err == nil {
		t.Error("NewParameters(page size 11) error = nil, want one (GetParametersByPath allows 10)")
	}
}

// TestAllPortals: the registries' entries together; a failed listing does
// not hide the other registry's portals.
func TestAllPortals(t *testing.T) {
	params, _ := NewParameters(&fakeParameterLister{params: []ssmtypes.Parameter{parameter(prodPath + "/a.example.com")}}, prodPath)
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
