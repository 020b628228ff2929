package motoserver

import (
	"net/http"
	"testing"
)

func TestMain(m *testing.M) { Main(m) }

// TestStartSharesOneServer checks that under Main every Start returns the
// same server, which outlives the test that started it.
func TestStartSharesOneServer(t *testing.T) {
	var first string
	t.Run("first", func(t *testing.T) { first = Start(t) })
	second := Start(t)
	if first != second {
		t.Errorf("Start() = %s after %s, want one shared server", second, first)
	}
	// The first subtest has ended: its cleanups ran, the server must still answer.
	resp, err := http.Get(second + "/moto-api/")
	if err != nil {
		t.Fatalf("the shared server stopped with the test that started it: %v", err)
	}
	resp.Body.Close()
}
