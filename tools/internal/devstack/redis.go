package devstack

import (
	"context"
	"fmt"
	neturl "net/url"
	"time"

	"github.com/alicebob/miniredis/v2"
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
	o, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("--redis-url %s is not a Redis URL such as redis://127.0.0.1:6379", RedactURL(url))
	}
	rdb := redis.NewClient(o)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		_ = rdb.Close()
		return nil, fmt.Errorf("redis at %s does not answer: %w; start it or pass another --redis-url", o.Addr, err)
	}
	s.RedisURL = url
	s.redisClose = append(s.redisClose, rdb.Close)
	return rdb, nil
}

// RedactURL returns raw with any password replaced, fit to print; a URL
// that does not parse is not printed at all (it may hold one).
func RedactURL(raw string) string {
	u, err := neturl.Parse(raw)
	if err != nil {
		return "(a URL that does not parse)"
	}
	return u.Redacted()
}
