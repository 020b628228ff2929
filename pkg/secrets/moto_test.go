package secrets

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/docspace-backup-watch/docspace-backup-watch/internal/motoserver"
)

func TestAPIKeyFromMoto(t *testing.T) {
	client := secretsmanager.NewFromConfig(motoserver.AWSConfig(motoserver.Start(t)))
	ctx := context.Background()
	for name, value := range map[string]string{"plain": "sk-plain-key", "json": `{"apiKey":"sk-json-key"}`} {
		if _, err := client.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(value)}); err != nil {
			t.Fatalf("CreateSecret(%s) error = %v", name, err)
		}
	}
	s := NewStore(client, "", time.Minute)
	for name, want := range map[string]string{"plain": "sk-plain-key", "json": "sk-json-key"} {
		if got, err := s.APIKey(ctx, name); err != nil || string(got) != want {
			t.Errorf("APIKey(%s) = %q, %v, want %q", name, got, err, want)
		}
	}
	if _, err := s.APIKey(ctx, "missing"); !errors.Is(err, ErrSecretNotFound) {
		t.Errorf("APIKey(missing) error = %v, want ErrSecretNotFound", err)
	}
}
