package partner

import (
	"container/list"
	"context"
	"sync"
	"time"
)

// Store remembers which deliveries were processed, so that a redelivery of
// the same delivery is answered without calling the handler again. Keys are
// delivery ids ([Delivery.ID]): webhook-id, or the Ketenbus-Delivery-Id
// header of a NATS message.
//
// A [Receiver] or [Consume] calls Seen before the handler and Mark only
// after the handler returned nil, so an event whose handling failed is
// processed again when it comes back. Two deliveries of one id that arrive
// at the same moment can both pass Seen; where that matters, the handler's
// own work must be idempotent too, for example through a unique index on
// the delivery id.
//
// Implementations must be safe for concurrent use. [MemoryStore] suits one
// process and tests; production partners back a Store with their own
// database, ideally marking in the same transaction as the handler's work,
// so that what was processed and what was marked cannot drift apart after a
// crash.
type Store interface {
	// Seen reports whether id was marked and has not expired.
	Seen(ctx context.Context, id string) (bool, error)
	// Mark records id as processed.
	Mark(ctx context.Context, id string) error
}

var _ Store = (*MemoryStore)(nil)

// Defaults of [NewMemoryStore].
const (
	// DefaultMemoryTTL covers the whole ketenbus retry schedule (about two
	// days) with a margin.
	DefaultMemoryTTL = 72 * time.Hour
	// DefaultMemoryMax bounds the ids kept in memory.
	DefaultMemoryMax = 100_000
)

// MemoryStore is a [Store] in memory: bounded, with a time to live, safe for
// concurrent use. It forgets everything when the process stops, and each
// process has its own, so it does not deduplicate across replicas; use a
// Store backed by the partner's database for that.
type MemoryStore struct {
	mu    sync.Mutex
	ttl   time.Duration
	max   int
	now   func() time.Time
	ids   map[string]*list.Element
	order *list.List // of memoryEntry, oldest mark first
}

type memoryEntry struct {
	id string
	at time.Time
}

// NewMemoryStore returns a MemoryStore that remembers an id for ttl after
// it was marked and holds at most max ids, forgetting the oldest first when
// full. A ttl of zero or less means [DefaultMemoryTTL]; a max of zero or
// less means [DefaultMemoryMax].
func NewMemoryStore(ttl time.Duration, max int) *MemoryStore {
	if ttl <= 0 {
		ttl = DefaultMemoryTTL
	}
	if max <= 0 {
		max = DefaultMemoryMax
	}
	return &MemoryStore{
		ttl:   ttl,
		max:   max,
		now:   time.Now,
		ids:   make(map[string]*list.Element),
		order: list.New(),
	}
}

// Seen reports whether id was marked less than the ttl ago. It never fails.
func (s *MemoryStore) Seen(_ context.Context, id string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire(s.now())
	_, ok := s.ids[id]
	return ok, nil
}

// Mark records id as processed now, forgetting the oldest id if the store
// is full. Marking an id again renews it. It never fails.
func (s *MemoryStore) Mark(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.expire(now)
	if el, ok := s.ids[id]; ok {
		el.Value = memoryEntry{id: id, at: now}
		s.order.MoveToBack(el)
		return nil
	}
	s.ids[id] = s.order.PushBack(memoryEntry{id: id, at: now})
	for s.order.Len() > s.max {
		s.remove(s.order.Front())
	}
	return nil
}

// Len returns the number of ids remembered.
func (s *MemoryStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire(s.now())
	return s.order.Len()
}

// expire forgets the ids marked a ttl or more before now. Entries are in
// mark order, so it stops at the first one still valid.
func (s *MemoryStore) expire(now time.Time) {
	for el := s.order.Front(); el != nil; el = s.order.Front() {
		if now.Sub(el.Value.(memoryEntry).at) < s.ttl {
			return
		}
		s.remove(el)
	}
}

func (s *MemoryStore) remove(el *list.Element) {
	delete(s.ids, el.Value.(memoryEntry).id)
	s.order.Remove(el)
}
