package partner_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ketenbus/ketenbus/events/partner"
)

func TestMemoryStore(t *testing.T) {
	t.Parallel()
	type step struct {
		advance  time.Duration
		mark     string
		seen     string
		wantSeen bool
	}
	tests := []struct {
		name    string
		ttl     time.Duration
		max     int
		steps   []step
		wantLen int
	}{
		{
			name: "marked is seen",
			ttl:  time.Hour, max: 10,
			steps: []step{
				{seen: "a", wantSeen: false},
				{mark: "a"},
				{seen: "a", wantSeen: true},
				{seen: "b", wantSeen: false},
			},
			wantLen: 1,
		},
		{
			name: "expires after ttl",
			ttl:  time.Hour, max: 10,
			steps: []step{
				{mark: "a"},
				{advance: 59 * time.Minute, mark: "b"},
				{seen: "a", wantSeen: true},
				{advance: time.Minute, seen: "a", wantSeen: false},
				{seen: "b", wantSeen: true},
			},
			wantLen: 1,
		},
		{
			name: "evicts oldest when full",
			ttl:  time.Hour, max: 2,
			steps: []step{
				{mark: "a"}, {mark: "b"}, {mark: "c"},
				{seen: "a", wantSeen: false},
				{seen: "b", wantSeen: true},
				{seen: "c", wantSeen: true},
			},
			wantLen: 2,
		},
		{
			name: "marking again renews",
			ttl:  time.Hour, max: 2,
			steps: []step{
				{mark: "a"}, {advance: time.Minute, mark: "b"},
				{advance: time.Minute, mark: "a"},
				{mark: "c"}, // evicts b, now the oldest
				{seen: "a", wantSeen: true},
				{seen: "b", wantSeen: false},
				{advance: 59*time.Minute + 30*time.Second, seen: "a", wantSeen: true},
			},
			wantLen: 2,
		},
		{
			name:    "defaults",
			steps:   []step{{mark: "a"}, {advance: 71 * time.Hour, seen: "a", wantSeen: true}, {advance: time.Hour, seen: "a", wantSeen: false}},
			wantLen: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := partner.NewMemoryStore(tt.ttl, tt.max)
			now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
			s.SetClock(func() time.Time { return now })
			for i, st := range tt.steps {
				now = now.Add(st.advance)
				if st.mark != "" {
					if err := s.Mark(t.Context(), st.mark); err != nil {
						t.Fatal(err)
					}
				}
				if st.seen != "" {
					seen, err := s.Seen(t.Context(), st.seen)
					if err != nil {
						t.Fatal(err)
					}
					if seen != st.wantSeen {
						t.Errorf("step %d: Seen(%q) = %v, want %v", i, st.seen, seen, st.wantSeen)
					}
				}
			}
			if n := s.Len(); n != tt.wantLen {
				t.Errorf("Len() = %d, want %d", n, tt.wantLen)
			}
		})
	}
}

func TestMemoryStoreConcurrent(t *testing.T) {
	t.Parallel()
	s := partner.NewMemoryStore(time.Hour, 100)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				id := fmt.Sprintf("evt-%d-%d", g, i)
				if err := s.Mark(t.Context(), id); err != nil {
					t.Error(err)
				}
				if _, err := s.Seen(t.Context(), id); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if n := s.Len(); n != 100 {
		t.Errorf("Len() = %d, want the bound 100", n)
	}
}
