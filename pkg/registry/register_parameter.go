package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/docspace"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/secrets"
)

// ParameterReader is the part of *ssm.Client that ParametersBoundTo
// needs: the listing and each parameter's value.
type ParameterReader interface {
	ParameterLister
	secrets.ParameterGetter
}

// ParameterManager is the part of *ssm.Client that RegisterParameter and
// RemoveParameter need.
type ParameterManager interface {
	ParameterReader
	PutParameter(ctx context.Context, params *ssm.PutParameterInput, optFns ...func(*ssm.Options)) (*ssm.PutParameterOutput, error)
	DeleteParameter(ctx context.Context, params *ssm.DeleteParameterInput, optFns ...func(*ssm.Options)) (*ssm.DeleteParameterOutput, error)
}

// ParametersBoundTo returns the parameters under path that are bound to
// the portal named portal (docspace.PortalName), reading each one's value,
// several at once. A parameter that cannot be read is an error naming it:
// whether it is bound to the portal is not known.
func ParametersBoundTo(ctx context.Context, client ParameterReader, path, portal string) ([]Entry, error) {
	r, err := NewParameters(client, path, WithTTL(0))
	if err != nil {
		return nil, err
	}
	// Every entry is a parameter's ARN: the store never asks Secrets
	// Manager.
	return boundIn(ctx, r, secrets.NewStore(nil, "apiKey", 0, secrets.WithParameters(client)), portal)
}

var _ ParameterManager = (*ssm.Client)(nil)

// notInName is what a parameter name may not hold.
var notInName = regexp.MustCompile(`[^A-Za-z0-9_./-]`)

// DefaultParameterName is the parameter name RegisterParameter gives a
// portal when none is given: the path and the portal's normalized name,
// with any character Parameter Store does not allow (the port's colon)
// made "_": /docspace-backup-watch/prod/b.example.com/docspace.
func DefaultParameterName(path, portalURL string) (string, error) {
	u, err := docspace.ValidateBaseURL(portalURL, false)
	if err != nil {
		return "", err
	}
	return path + "/" + notInName.ReplaceAllString(docspace.PortalName(u), "_"), nil
}

// boundValue checks what Register and RegisterParameter store: an https
// portal URL and a key the function would send, and returns the bound
// form and the portal's URL.
func boundValue(portalURL string, key docspace.APIKey) (string, string, error) {
	u, err := docspace.ValidateBaseURL(portalURL, false)
	if err != nil {
		return "", "", err
	}
	if strings.TrimSpace(string(key)) == "" {
		return "", "", errors.New("the API key is empty")
	}
	// A key the function would refuse (a line break, a space, "Bearer "
	// stored with it) is refused now, not at the first run.
	if err := docspace.ValidateAPIKey(docspace.APIKey(strings.TrimSpace(string(key)))); err != nil {
		return "", "", err
	}
	value, err := json.Marshal(map[string]string{"portalUrl": u.String(), "apiKey": strings.TrimSpace(string(key))})
	if err != nil {
		return "", "", err
	}
	return string(value), u.String(), nil
}

// RegisterParameter registers a portal in Parameter Store: it creates the
// SecureString standard parameter name (DefaultParameterName when empty),
// which must lie under path, in the bound form {"portalUrl": portalURL,
// "apiKey": key}, encrypted with kmsKeyID (empty: the account's aws/ssm
// key), carrying the portal's PortalTagKey tag and ParameterDescription
// (which the listing reads the portal from), and returns its name. It
// never overwrites a parameter. portalURL
// must be https; the key must pass docspace.ValidateAPIKey (the error
// matches docspace.ErrInvalidKey).
func RegisterParameter(ctx context.Context, client ParameterManager, path, name, portalURL string, key docspace.APIKey, kmsKeyID string) (string, error) {
	if err := ValidateParameterPath(path); err != nil {
		return "", fmt.Errorf("register: %w", err)
	}
	value, canonical, err := boundValue(portalURL, key)
	if err != nil {
		return "", fmt.Errorf("register: %w", err)
	}
	if name == "" {
		name, _ = DefaultParameterName(path, canonical)
	}
	if !strings.HasPrefix(name, path+"/") || ValidateParameterPath(name) != nil {
		return "", fmt.Errorf("register: parameter name %q must lie under %s/ (letters, digits, _ . - between slashes)", name, path)
	}
	u, err := docspace.ValidateBaseURL(canonical, false)
	if err != nil {
		return "", fmt.Errorf("register: %w", err)
	}
	portal := docspace.PortalName(u)
	existing, err := ParametersBoundTo(ctx, client, path, portal)
	if err != nil {
		return "", fmt.Errorf("register %s: look for a parameter already bound to it: %w", portal, err)
	}
	if len(existing) > 0 {
		return "", fmt.Errorf("register %s as %s: %w: parameter %s is bound to it; put the new key in that parameter, or remove it first (portals remove)",
			portal, name, ErrAlreadyRegistered, existing[0].Name)
	}
	in := &ssm.PutParameterInput{
		Name:        aws.String(name),
		Description: aws.String(ParameterDescription(portal, path)),
		Value:       aws.String(value),
		Type:        ssmtypes.ParameterTypeSecureString,
		Tier:        ssmtypes.ParameterTierStandard,
		Overwrite:   aws.Bool(false),
		Tags:        []ssmtypes.Tag{{Key: aws.String(PortalTagKey), Value: aws.String(PortalTagValue(portal))}},
	}
	if kmsKeyID != "" {
		in.KeyId = aws.String(kmsKeyID)
	}
	if _, err := client.PutParameter(ctx, in); err != nil {
		return "", fmt.Errorf("register %s: put parameter %s: %w", canonical, name, err)
	}
	return name, nil
}

// RemoveParameter deregisters a portal: it deletes the parameter name, but
// only when it lies under path (ErrNotRegistered otherwise), so that a
// typo never deletes another parameter. Parameter Store keeps no deleted
// copy.
func RemoveParameter(ctx context.Context, client ParameterManager, path, name string) error {
	if !strings.HasPrefix(name, path+"/") {
		return fmt.Errorf("remove %s: %w: it is not under %s", name, ErrNotRegistered, path)
	}
	if _, err := client.DeleteParameter(ctx, &ssm.DeleteParameterInput{Name: aws.String(name)}); err != nil {
		return fmt.Errorf("remove %s: %w", name, err)
	}
	return nil
}
