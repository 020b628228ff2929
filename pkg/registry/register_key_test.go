package registry

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/docspace"
)

// refusingManager fails the test if a secret is created.
type refusingManager struct {
	Manager
	t *testing.T
}

func (m refusingManager) CreateSecret(context.Context, *secretsmanager.CreateSecretInput, ...func(*secretsmanager.Options)) (*secretsmanager.CreateSecretOutput, error) {
	m.t.Error("CreateSecret called for a key the function would refuse")
	return nil, errors.New("refused")
}

// TestRegisterRefusesKeysTheFunctionRefuses: a key with a line break, a
// space or "Bearer " is refused before any secret is created.
func TestRegisterRefusesKeysTheFunctionRefuses(t *testing.T) {
	tag := Tag{Key: DefaultTagKey, Value: "stack"}
	for _, key := range []docspace.APIKey{"sk-0123\n456789abc", "Bearer sk-0123456789", "sk-01 23456789", "sk-01\x0023456789"} {
		_, err := Register(context.Background(), refusingManager{t: t}, tag, "", "https://a.example.com", key)
		if !errors.Is(err, docspace.ErrInvalidKey) {
			t.Errorf("Register(%q) error = %v, want ErrInvalidKey", key, err)
		}
	}
}
