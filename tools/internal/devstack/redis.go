package devstack

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/ketenbus/ketenbus/services/shared/redisx"
	"github.com/redis/go-redis/v9"
)

// openRedis connects to the Redis at url, or, without one, starts an
// embedded Redis-compatible store in memory and warns that the timers and
// the samenloop index will not survive a restart (`ketenbus timers
// rebuild` and `ketenbus samenloop rebuild` recreate them from EVENTS).
func (s *Stack) openRedis(url string) (redis.UniversalClient, error) {
	if url == "" {
		mr := miniredis.NewMiniRedis()
		if err := mr.StartAddr("127.0.0.1:0"); err != nil {
			return nil, fmt.Errorf("start embedded redis: %w", err)
		}
		s.redisClose = append(s.redisClose, func() error { mr.Close(); return nil })
		s.RedisURL = "redis://" + mr.Addr()
		s.log.Warn("no --redis-url: escalation timers and the samenloop index are kept in an embedded in-memory store and do not survive a restart; pass --redis-url redis://127.0.0.1:6379 for a real Redis", "url", s.RedisURL)
		rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
		s.redisClose = append([]func() error{rdb.Close}, s.redisClose...)
		return rdb, nil
	}
	rdb, err := redisx.Open(context.Background(), url, 5*time.Second)
	switch {
	case errors.Is(err, redisx.ErrURL):
		return nil, fmt.Errorf("--redis-url %w", err)
	case err != nil:
		return nil, fmt.Errorf("%w; start it or pass another --redis-url", err)
	}
	s.RedisURL = url
	s.redisClose = append(s.redisClose, rdb.Close)
	return rdb, nil
}
