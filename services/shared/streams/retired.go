package streams

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ketenbus/ketenbus/services/shared/bus"
)

// Retirement records why and when a subscription was retired.
type Retirement struct {
	RetiredAt time.Time `json:"retired_at"`
	// Status is the HTTP status that retired it (410).
	Status int    `json:"status"`
	Reason string `json:"reason"`
}

// Retired is the set of retired subscriptions in bus.RetiredBucket, kept
// current by a watch. It is safe for concurrent use.
type Retired struct {
	kv     jetstream.KeyValue
	logger *slog.Logger

	mu     sync.RWMutex
	m      map[string]Retirement
	loaded bool
}

// OpenRetired opens bus.RetiredBucket, creating it with replicas when it is
// missing (Ensure creates it before the services start), loads it
// and keeps watching it until ctx ends.
func OpenRetired(ctx context.Context, js jetstream.JetStream, replicas int, logger *slog.Logger) (*Retired, error) {
	kv, err := js.KeyValue(ctx, bus.RetiredBucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		kv, err = js.CreateKeyValue(ctx, RetiredBucketConfig(Config{Replicas: replicas}))
		if errors.Is(err, jetstream.ErrBucketExists) {
			kv, err = js.KeyValue(ctx, bus.RetiredBucket)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("bucket %s: %w", bus.RetiredBucket, err)
	}
	s := &Retired{kv: kv, logger: logger, m: map[string]Retirement{}}
	w, err := s.load(ctx)
	if err != nil {
		return nil, err
	}
	go s.watch(ctx, w)
	return s, nil
}

// WatchRetired returns the retired subscriptions for a reader, such as the
// monitor, and keeps them current until ctx ends. It does not create
// bus.RetiredBucket: until an adapter has, nothing is retired.
func WatchRetired(ctx context.Context, js jetstream.JetStream, logger *slog.Logger) *Retired {
	s := &Retired{logger: logger, m: map[string]Retirement{}}
	go func() {
		for {
			kv, err := js.KeyValue(ctx, bus.RetiredBucket)
			if err == nil {
				s.kv = kv // only this goroutine uses kv
				var w jetstream.KeyWatcher
				if w, err = s.load(ctx); err == nil {
					s.watch(ctx, w)
					return
				}
			}
			if errors.Is(err, jetstream.ErrBucketNotFound) {
				s.mu.Lock()
				s.loaded = true
				s.mu.Unlock()
			} else if ctx.Err() == nil {
				logger.Warn("reading retired subscriptions failed; trying again", slog.String("bucket", bus.RetiredBucket), slog.String("error", err.Error()))
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
		}
	}()
	return s
}

// load starts a watch of the bucket and applies every key it holds; the
// watch goes on with the changes.
func (s *Retired) load(ctx context.Context) (jetstream.KeyWatcher, error) {
	w, err := s.kv.WatchAll(ctx)
	if err != nil {
		return nil, fmt.Errorf("watch bucket %s: %w", bus.RetiredBucket, err)
	}
	// The watch first replays every key, then a nil entry.
	for {
		select {
		case e, ok := <-w.Updates():
			if !ok {
				return nil, fmt.Errorf("watch bucket %s: closed while loading", bus.RetiredBucket)
			}
			if e == nil {
				s.mu.Lock()
				s.loaded = true
				s.mu.Unlock()
				return w, nil
			}
			s.apply(e)
		case <-ctx.Done():
			_ = w.Stop()
			return nil, ctx.Err()
		}
	}
}

// watch applies changes until ctx ends; a watch that breaks is started
// again.
func (s *Retired) watch(ctx context.Context, w jetstream.KeyWatcher) {
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
			s.logger.Warn("watch of retired subscriptions failed; trying again", slog.String("bucket", bus.RetiredBucket), slog.String("error", err.Error()))
		}
	}
}

func (s *Retired) apply(e jetstream.KeyValueEntry) {
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

// Get reports whether the subscription is retired, and why.
func (s *Retired) Get(partner, subscription string) (Retirement, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, ok := s.m[bus.RetiredKey(partner, subscription)]
	return r, ok
}

// Subscriptions returns the retired subscriptions of each partner that
// has any, sorted; ok is false until the bucket was read.
func (s *Retired) Subscriptions() (retired map[string][]string, ok bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if !s.loaded {
		return nil, false
	}
	retired = map[string][]string{}
	for key := range s.m {
		if partner, sub, found := strings.Cut(key, "."); found {
			retired[partner] = append(retired[partner], sub)
		}
	}
	for _, subs := range retired {
		slices.Sort(subs)
	}
	return retired, true
}

// Retire records r for the subscription. created is false when it was
// already retired (by another attempt or another adapter).
func (s *Retired) Retire(ctx context.Context, partner, subscription string, r Retirement) (created bool, err error) {
	key := bus.RetiredKey(partner, subscription)
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
