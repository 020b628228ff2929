package alertstate

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestOwnerMoto: the "#owner" item names the entry a portal is checked
// with. The entry that sorts first takes it from one that sorts after,
// whatever the order of the claims; an owner claiming again renews it; an
// entry that sorts after takes it only once the owner's claim is older
// than the lease, or from an owner it names (TakeOwner). Load is not
// disturbed by the item.
func TestOwnerMoto(t *testing.T) {
	client, table := motoTable(t)
	s, err := NewStore(client, table, DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const (
		portal = "https://owned.example.com"
		lease  = 45 * time.Minute
	)
	steps := []struct {
		name      string
		entry     string
		from      string // TakeOwner from this owner; "": ClaimOwner
		after     time.Duration
		wantOwner string
	}{
		{"first claim", "arn:z", "", 0, "arn:z"},
		{"sorts first takes it", "arn:a", "", m15, "arn:a"},
		{"sorts after within the lease", "arn:z", "", 2 * m15, "arn:a"},
		{"owner renews", "arn:a", "", 3 * m15, "arn:a"},
		{"sorts after, lease not over since the renewal", "arn:z", "", 5 * m15, "arn:a"},
		{"sorts after, owner silent for a lease", "arn:z", "", 6 * m15, "arn:z"},
		{"take over from the owner named", "arn:m", "arn:z", 6 * m15, "arn:m"},
		{"take over from an owner gone already", "arn:n", "arn:z", 6 * m15, "arn:m"},
	}
	for _, st := range steps {
		var got string
		if st.from == "" {
			got, err = s.ClaimOwner(ctx, portal, st.entry, at(st.after), lease)
		} else {
			got, err = s.TakeOwner(ctx, portal, st.entry, st.from, at(st.after))
		}
		if err != nil || got != st.wantOwner {
			t.Errorf("%s: claim by %s = %q, %v; want %q", st.name, st.entry, got, err, st.wantOwner)
		}
	}
	if m, err := s.Load(ctx, portal); err != nil || len(m.Open) != 0 {
		t.Errorf("Load() = %+v, %v; want nothing open and no error", m, err)
	}
	if _, err := s.ClaimOwner(ctx, portal, "", at(0), lease); err == nil {
		t.Error("ClaimOwner(empty entry) error = nil, want one")
	}
}

// TestOwnerOverlappingMoto: entries claiming one portal at once, in any
// order, leave the one that sorts first its owner, and each claim returns
// either its own entry (it held for a moment) or one that sorts first.
func TestOwnerOverlappingMoto(t *testing.T) {
	client, table := motoTable(t)
	s, err := NewStore(client, table, DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for round := range 3 {
		portal := fmt.Sprintf("https://overlap%d.example.com", round)
		entries := []string{"arn:e", "arn:b", "arn:d", "arn:a", "arn:c"}
		var wg sync.WaitGroup
		for _, e := range entries {
			wg.Go(func() {
				got, err := s.ClaimOwner(ctx, portal, e, at(0), time.Hour)
				if err != nil || got > e {
					t.Errorf("ClaimOwner(%s) = %q, %v; want itself or an entry that sorts first", e, got, err)
				}
			})
		}
		wg.Wait()
		if got, err := s.ClaimOwner(ctx, portal, "arn:b", at(time.Minute), time.Hour); err != nil || got != "arn:a" {
			t.Errorf("round %d: owner = %q, %v; want arn:a", round, got, err)
		}
	}
}
