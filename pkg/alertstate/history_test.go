package alertstate

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestClaimHistoryReadMoto: runs take turns reading a portal's history,
// at most once per interval, also when they overlap; the newest backup the
// read found is remembered, and the item is no reason.
func TestClaimHistoryReadMoto(t *testing.T) {
	client, table := motoTable(t)
	s, err := NewStore(client, table, DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const portal = "https://history.example.com"
	every := 24 * time.Hour
	t0 := time.Date(2026, 11, 29, 4, 0, 0, 0, time.UTC)
	newest := t0.Add(-3 * time.Hour)

	// Eight overlapping runs: one reads.
	var claimed atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			ok, err := s.ClaimHistoryRead(ctx, portal, t0, every, time.Time{})
			if err != nil {
				t.Errorf("ClaimHistoryRead() error = %v", err)
			}
			if ok {
				claimed.Add(1)
			}
		})
	}
	wg.Wait()
	if claimed.Load() != 1 {
		t.Fatalf("%d overlapping runs claimed the read, want 1", claimed.Load())
	}
	if err := s.RecordHistoryNewest(ctx, portal, t0, newest); err != nil {
		t.Fatalf("RecordHistoryNewest() error = %v", err)
	}
	// Runs every 15 minutes for a day: none reads.
	for at := t0.Add(15 * time.Minute); at.Before(t0.Add(every)); at = at.Add(6 * time.Hour) {
		if ok, err := s.ClaimHistoryRead(ctx, portal, at, every, newest); err != nil || ok {
			t.Errorf("ClaimHistoryRead(%v) = %v, %v, want false within the interval", at, ok, err)
		}
	}
	m, err := s.Load(ctx, portal)
	if err != nil || !m.HistoryReadAt.Equal(t0) || !m.HistoryNewest.Equal(newest) || len(m.Open) != 0 {
		t.Errorf("Load() = %+v, %v; want the read at %v finding %v, nothing open", m, err, t0, newest)
	}
	// The "#history" item is not a reason: recording a run leaves it be.
	if ns, err := s.Record(ctx, portal, Run{Evaluated: []string{"backup_stale"}}, t0.Add(time.Hour)); err != nil || len(ns) != 0 {
		t.Errorf("Record() = %v, %v; want no notice", ns, err)
	}
	// A day later: the next run reads, and keeps the last newest until
	// its own read says.
	if ok, err := s.ClaimHistoryRead(ctx, portal, t0.Add(every), every, newest); err != nil || !ok {
		t.Errorf("ClaimHistoryRead(a day later) = %v, %v, want true", ok, err)
	}
	if m, _ := s.Load(ctx, portal); !m.HistoryReadAt.Equal(t0.Add(every)) || !m.HistoryNewest.Equal(newest) {
		t.Errorf("Load() after the second claim = %+v", m)
	}
	// A stale run's record does not overwrite a later claim.
	if err := s.RecordHistoryNewest(ctx, portal, t0, t0); err != nil {
		t.Errorf("RecordHistoryNewest(old claim) error = %v", err)
	}
	if m, _ := s.Load(ctx, portal); !m.HistoryNewest.Equal(newest) {
		t.Errorf("an old claim's record overwrote the newest: %+v", m)
	}
	if _, err := s.ClaimHistoryRead(ctx, portal, t0, 0, time.Time{}); err == nil {
		t.Error("ClaimHistoryRead(every 0) error = nil, want one")
	}
}
