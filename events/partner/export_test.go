package partner

import "time"

// SetClock replaces the clock of a MemoryStore, for tests.
func (s *MemoryStore) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}
