package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/docspace"
)

// Manager is the part of *secretsmanager.Client that Register and Remove
// need.
type Manager interface {
	CreateSecret(ctx context.Context, params *secretsmanager.CreateSecretInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.CreateSecretOutput, error)
	DescribeSecret(ctx context.Context, params *secretsmanager.DescribeSecretInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error)
	DeleteSecret(ctx context.Context, params *secretsmanager.DeleteSecretInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.DeleteSecretOutput, error)
}

var _ Manager = (*secretsmanager.Client)(nil)

// ErrNotRegistered is a secret that does not carry the registry's tag.
var ErrNotRegistered = errors.New("secret is not registered with this tag")

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
// carrying tag, and returns its ARN. portalURL must be https, as the
// function requires of a registered portal; the key must pass
// docspace.ValidateAPIKey (the error matches docspace.ErrInvalidKey).
func Register(ctx context.Context, client Manager, tag Tag, name, portalURL string, key docspace.APIKey) (string, error) {
	if err := tag.Validate(); err != nil {
		return "", fmt.Errorf("register: %w", err)
	}
	u, err := docspace.ValidateBaseURL(portalURL, false)
	if err != nil {
		return "", fmt.Errorf("register: %w", err)
	}
	if strings.TrimSpace(string(key)) == "" {
		return "", errors.New("register: the API key is empty")
	}
	// A key the function would refuse (a line break, a space, "Bearer "
	// stored with it) is refused now, not at the first run.
	if err := docspace.ValidateAPIKey(docspace.APIKey(strings.TrimSpace(string(key)))); err != nil {
		return "", fmt.Errorf("register: %w", err)
	}
	if name == "" {
		name = "docspace/" + docspace.PortalName(u)
	}
	value, err := json.Marshal(map[string]string{"portalUrl": u.String(), "apiKey": strings.TrimSpace(string(key))})
	if err != nil {
		return "", fmt.Errorf("register: %w", err)
	}
	out, err := client.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name:         aws.String(name),
		Description:  aws.String("DocSpace API key for " + docspace.PortalName(u) + ", registered with docspace-backup-watch " + tag.String()),
		SecretString: aws.String(string(value)),
		Tags:         []smtypes.Tag{{Key: aws.String(tag.Key), Value: aws.String(tag.Value)}},
	})
	if err != nil {
		return "", fmt.Errorf("register %s: create secret %s: %w", docspace.PortalName(u), name, err)
	}
	return aws.ToString(out.ARN), nil
}

// Remove deregisters a portal: it deletes secretID, after a recovery
// window of 7 days or at once with now, but only when the secret carries
// tag (ErrNotRegistered otherwise), so that a typo never deletes another
// secret. A secret scheduled for deletion is no longer registered.
func Remove(ctx context.Context, client Manager, tag Tag, secretID string, now bool) error {
	d, err := client.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(secretID)})
	if err != nil {
		return fmt.Errorf("remove %s: %w", secretID, err)
	}
	if !hasTag(d.Tags, tag) {
		return fmt.Errorf("remove %s: %w %s", secretID, ErrNotRegistered, tag)
	}
	in := &secretsmanager.DeleteSecretInput{SecretId: aws.String(secretID)}
	if now {
		in.ForceDeleteWithoutRecovery = aws.Bool(true)
	} else {
		in.RecoveryWindowInDays = aws.Int64(7)
	}
	if _, err := client.DeleteSecret(ctx, in); err != nil {
		return fmt.Errorf("remove %s: %w", secretID, err)
	}
	return nil
}
