package adapter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// RetiredBucket is the JetStream key-value bucket of retired
// subscriptions. The key is RetiredKey(partner, subscription), the value a
// Retirement in JSON. Deleting a key resumes delivery to the subscription.
const RetiredBucket = "ketenbus-retired"

// RetiredKey returns the key of a subscription in RetiredBucket:
// "<partner>.<subscription>".
func RetiredKey(partner, subscription string) string {
	return partner + "." + subscription
}

// Retirement records why and when a subscription was retired.
type Retirement struct {
	RetiredAt time.Time `json:"retired_at"`
	// Status is the HTTP status that retired it (410).
	Status int    `json:"status"`
	Reason string `json:"reason"`
}

// retiredSet is a cache of RetiredBucket kept current by a watch; it is
// safe for concurrent use.
type retiredSet struct {
	kv     jetstream.KeyValue
	logger *slog.Logger

	mu sync.RWMutex
	m  map[string]Retirement
}

// openRetired creates RetiredBucket if it is missing, loads it and keeps
// watching it until ctx ends.
func openRetired(ctx context.Context, js jetstream.JetStream, replicas int, logger *slog.Logger) (*retiredSet, error) {
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      RetiredBucket,
		Description: "ketenbus webhook subscriptions retired after 410 Gone",
		History:     5,
		Replicas:    replicas,
		Storage:     jetstream.FileStorage,
	})
	if errors.Is(err, jetstream.ErrBucketExists) {
		kv, err = js.KeyValue(ctx, RetiredBucket)
	}
	if err != nil {
		return nil, fmt.Errorf("bucket %s: %w", RetiredBucket, err)
	}
	s := &retiredSet{kv: kv, logger: logger, m: map[string]Retirement{}}
	w, err := kv.WatchAll(ctx)
	if err != nil {
		return nil, fmt.Errorf("watch bucket %s: %w", RetiredBucket, err)
	}
	// The watch first replays every key, then a nil entry.
	for loaded := false; !loaded; {
		select {
		case e, ok := <-w.Updates():
			if !ok {
				return nil, fmt.Errorf("watch bucket %s: closed while loading", RetiredBucket)
			}
			if e == nil {
				loaded = true
				continue
			}
			s.apply(e)
		case <-ctx.Done():
			_ = w.Stop()
			return nil, ctx.Err()
		}
	}
	go s.watch(ctx, w)
	return s, nil
}

// watch applies changes until ctx ends; a watch that breaks is started
// again.
func (s *retiredSet) watch(ctx context.Context, w jetstream.KeyWatcher) {
	for {
		for e := range w.Updates() {
			if e != nil {
				s.apply(e)
			}
			if ctx.Err() != nil {
				break
			}
		}
		_ = w.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
			var err error
			if w, err = s.kv.WatchAll(ctx); err == nil {
				break
			}
			s.logger.Warn("watch of retired subscriptions failed; trying again", slog.String("bucket", RetiredBucket), slog.String("error", err.Error()))
		}
	}
}

func (s *retiredSet) apply(e jetstream.KeyValueEntry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e.Operation() != jetstream.KeyValuePut {
		delete(s.m, e.Key())
		return
	}
	var r Retirement
	if err := json.Unmarshal(e.Value(), &r); err != nil {
		// Any value retires the subscription; keep what can be read.
		r = Retirement{Reason: "unreadable retirement record"}
	}
	s.m[e.Key()] = r
}

// get reports whether the subscription is retired.
func (s *retiredSet) get(partner, subscription string) (Retirement, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, ok := s.m[RetiredKey(partner, subscription)]
	return r, ok
}

// retire records r for the subscription. created is false when it was
// already retired (by another attempt or another adapter).
func (s *retiredSet) retire(ctx context.Context, partner, subscription string, r Retirement) (created bool, err error) {
	key := RetiredKey(partner, subscription)
	b, err := json.Marshal(r)
	if err != nil {
		return false, err
	}
	_, err = s.kv.Create(ctx, key, b)
	switch {
	case errors.Is(err, jetstream.ErrKeyExists):
	case err != nil:
		return false, fmt.Errorf("record retirement of %s: %w", key, err)
	default:
		created = true
	}
	s.mu.Lock()
	if _, ok := s.m[key]; !ok {
		s.m[key] = r
	}
	s.mu.Unlock()
	return created, nil
}
