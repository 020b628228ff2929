package backupcheck

import (
	"errors"
	"fmt"
	"testing"

	"github.com/docspace-backup-watch/docspace-backup-watch/pkg/docspace"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		err  error
		want Reason
	}{
		{nil, Healthy},
		{&docspace.APIError{StatusCode: 401}, PermissionDenied},
		{&docspace.APIError{StatusCode: 403}, PermissionDenied},
		{&docspace.APIError{StatusCode: 402}, PaymentRequired},
		{&docspace.APIError{StatusCode: 404}, BadResponse},
		// The portal or a proxy answered and refused the request as made:
		// not a network fault.
		{&docspace.APIError{StatusCode: 400}, BadResponse},
		{&docspace.APIError{StatusCode: 405}, BadResponse},
		{&docspace.APIError{StatusCode: 410}, BadResponse},
		{&docspace.APIError{StatusCode: 408}, Unreachable},
		{&docspace.RetryError{Attempts: 3, Err: &docspace.APIError{StatusCode: 429}}, Unreachable},
		{&docspace.RetryError{Attempts: 3, Err: &docspace.APIError{StatusCode: 503}}, Unreachable},
		{&docspace.TransportError{Err: errors.New("refused")}, Unreachable},
		{fmt.Errorf("wrapped: %w", &docspace.BadResponseError{}), BadResponse},
	}
	for _, tt := range tests {
		if got := Classify(tt.err); got != tt.want {
			t.Errorf("Classify(%v) = %s, want %s", tt.err, got, tt.want)
		}
	}
}
