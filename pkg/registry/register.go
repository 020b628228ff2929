package registry

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/docspace"
	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/secrets"
)

// Manager is the part of *secretsmanager.Client that Register and Remove
// need: Register lists the registered secrets and reads them to refuse a
// second secret for one portal.
type Manager interface {
	Lister
	secrets.SecretGetter
	CreateSecret(ctx context.Context, params *secretsmanager.CreateSecretInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.CreateSecretOutput, error)
	DescribeSecret(ctx context.Context, params *secretsmanager.DescribeSecretInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error)
	DeleteSecret(ctx context.Context, params *secretsmanager.DeleteSecretInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.DeleteSecretOutput, error)
}

var _ Manager = (*secretsmanager.Client)(nil)

// ErrNotRegistered is a secret that does not carry the registry's tag, or
// a parameter outside the registry's path.
var ErrNotRegistered = errors.New("not registered with this stack")

// ErrAlreadyRegistered is a portal that a registered secret is already
// bound to: a second secret would check it twice, and with a stale key
// flip between alert and resolved.
var ErrAlreadyRegistered = errors.New("portal already registered")

// BoundTo returns the secrets registered with tag that are bound to the
// portal named portal (docspace.PortalName), reading each registered
// secret's value, several at once. A secret that cannot be read is an
// error naming it: whether it is bound to the portal is not known.
func BoundTo(ctx context.Context, client Manager, tag Tag, portal string) ([]Entry, error) {
	r, err := New(client, tag, WithTTL(0))
	if err != nil {
		return nil, err
	}
	return boundIn(ctx, r, secrets.NewStore(client, "apiKey", 0), portal)
}

// boundIn returns the entries of r whose value, read through store, is
// bound to the portal named portal.
func boundIn(ctx context.Context, r *Registry, store *secrets.Store, portal string) ([]Entry, error) {
	entries, err := r.Portals(ctx)
	if err != nil {
		return nil, err
	}
	bound := make([]bool, len(entries))
	errs := make([]error, len(entries))
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i, e := range entries {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			b, err := store.Binding(ctx, e.SecretID)
			if err != nil {
				errs[i] = fmt.Errorf("read registered %s (%s): %w", e.Name, e.SecretID, err)
				return
			}
			if !b.Bound() {
				return
			}
			if u, err := docspace.ValidateBaseURL(b.PortalURL, true); err == nil && docspace.PortalName(u) == portal {
				bound[i] = true
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var out []Entry
	for i, e := range entries {
		if bound[i] {
			out = append(out, e)
		}
	}
	return out, nil
}

// DefaultSecretName is the secret name Register gives a portal when none
// is given: "docspace/" and the portal's normalized name.
func DefaultSecretName(portalURL string) (string, error) {
	u, err := docspace.ValidateBaseURL(portalURL, false)
	if err != nil {
		return "", err
	}
	return "docspace/" + docspace.PortalName(u), nil
}

// Register registers a portal: it creates the secret name (DefaultSecretName
// when empty) in the bound form {"portalUrl": portalURL, "apiKey": key},
// carrying tag and the portal's PortalTagKey tag, and returns its ARN.
// portalURL must be https, as the function requires of a registered
// portal; the key must pass docspace.ValidateAPIKey (the error matches
// docspace.ErrInvalidKey). A portal that a secret registered with tag is
// already bound to is refused with ErrAlreadyRegistered, naming that
// secret and the new name (see BoundTo).
func Register(ctx context.Context, client Manager, tag Tag, name, portalURL string, key docspace.APIKey) (string, error) {
	if err := tag.Validate(); err != nil {
		return "", fmt.Errorf("register: %w", err)
	}
	value, canonical, err := boundValue(portalURL, key)
	if err != nil {
		return "", fmt.Errorf("register: %w", err)
	}
	u, err := docspace.ValidateBaseURL(canonical, false)
	if err != nil {
		return "", fmt.Errorf("register: %w", err)
	}
	if name == "" {
		name = "docspace/" + docspace.PortalName(u)
	}
	existing, err := BoundTo(ctx, client, tag, docspace.PortalName(u))
	if err != nil {
		return "", fmt.Errorf("register %s: look for a secret already bound to it: %w", docspace.PortalName(u), err)
	}
	if len(existing) > 0 {
		return "", fmt.Errorf("register %s as %s: %w: secret %s (%s) is bound to it; put the new key in that secret, or remove it first (portals remove)",
			docspace.PortalName(u), name, ErrAlreadyRegistered, existing[0].Name, existing[0].SecretID)
	}
	out, err := client.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name:         aws.String(name),
		Description:  aws.String("DocSpace API key for " + docspace.PortalName(u) + ", registered with docspace-backup-watch " + tag.String()),
		SecretString: aws.String(value),
		Tags: []smtypes.Tag{
			{Key: aws.String(tag.Key), Value: aws.String(tag.Value)},
			{Key: aws.String(PortalTagKey), Value: aws.String(PortalTagValue(docspace.PortalName(u)))},
		},
	})
	if err != nil {
		return "", fmt.Errorf("register %s: create secret %s: %w", docspace.PortalName(u), name, err)
	}
	return aws.ToString(out.ARN), nil
}

// RecoveryWindowDays is how long Secrets Manager keeps a secret Remove
// deletes without now: it can be restored meanwhile, and its name stays
// taken until the window ends.
const RecoveryWindowDays = 7

// Remove deregisters a portal: it deletes secretID, after a recovery
// window of RecoveryWindowDays or at once with now, but only when the secret carries
// tag (ErrNotRegistered otherwise), so that a typo never deletes another
// secret. A secret scheduled for deletion is no longer registered.
func Remove(ctx context.Context, client Manager, tag Tag, secretID string, now bool) error {
	d, err := client.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(secretID)})
	if err != nil {
		return fmt.Errorf("remove %s: %w", secretID, err)
	}
	if !hasTag(d.Tags, tag) {
		return fmt.Errorf("remove %s: %w: it does not carry the tag %s", secretID, ErrNotRegistered, tag)
	}
	in := &secretsmanager.DeleteSecretInput{SecretId: aws.String(secretID)}
	if now {
		in.ForceDeleteWithoutRecovery = aws.Bool(true)
	} else {
		in.RecoveryWindowInDays = aws.Int64(RecoveryWindowDays)
	}
	if _, err := client.DeleteSecret(ctx, in); err != nil {
		return fmt.Errorf("remove %s: %w", secretID, err)
	}
	return nil
}
