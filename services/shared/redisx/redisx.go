// Package redisx holds what every Redis store of ketenbus needs: telling
// "Redis cannot serve now" from other errors, and finding or deleting
// every key under a prefix.
package redisx

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/ketenbus/ketenbus/services/shared/redact"
	"github.com/redis/go-redis/v9"
)

// Unavailable reports whether err means Redis could not serve the
// request (unreachable, loading, read-only, out of memory, busy, a
// timeout), as opposed to a request Redis rejected or a caller that gave
// up. Check the caller's own error kinds before calling it: any error
// that is not a Redis reply counts as a network error.
func Unavailable(err error) bool {
	switch {
	case err == nil, errors.Is(err, context.Canceled):
		return false
	case errors.Is(err, redis.ErrClosed), errors.Is(err, context.DeadlineExceeded):
		return true
	}
	var rerr redis.Error
	if !errors.As(err, &rerr) {
		return true // network: refused, reset, EOF, timeout, pool timeout
	}
	if redis.IsLoadingError(err) || redis.IsReadOnlyError(err) || redis.IsClusterDownError(err) ||
		redis.IsTryAgainError(err) || redis.IsMasterDownError(err) || redis.IsMaxClientsError(err) ||
		redis.IsOOMError(err) || redis.IsNoReplicasError(err) {
		return true
	}
	return strings.HasPrefix(err.Error(), "BUSY ")
}

// Wrap prefixes err with op and, when Redis could not serve it, marks it
// with unavailable too (the store's own sentinel), so callers can tell
// "try again later" from everything else. Errors matching one of mine
// (the store's own kinds: invalid input, a corrupt reply) are never
// marked, whatever they wrap.
func Wrap(op string, err, unavailable error, mine ...error) error {
	if err == nil {
		return nil
	}
	for _, m := range mine {
		if errors.Is(err, m) {
			return fmt.Errorf("%s: %w", op, err)
		}
	}
	if Unavailable(err) {
		return fmt.Errorf("%s: %w: %w", op, unavailable, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// DeletePrefix unlinks every key that starts with prefix, on every
// master of a cluster. It is not atomic: keys written meanwhile may stay.
func DeletePrefix(ctx context.Context, rdb redis.UniversalClient, prefix string) error {
	return ScanPrefix(ctx, rdb, prefix, func(keys []string) error {
		pipe := rdb.Pipeline()
		for _, k := range keys {
			pipe.Unlink(ctx, k)
		}
		_, err := pipe.Exec(ctx)
		return err
	})
}

// ScanPrefix calls fn with the keys that start with prefix, up to 1,000
// at a time, on every master of a cluster, and stops at fn's first
// error; fn must not keep keys after it returns. Keys written or
// deleted meanwhile may be missed or repeated.
func ScanPrefix(ctx context.Context, rdb redis.UniversalClient, prefix string, fn func(keys []string) error) error {
	match := globEscape(prefix) + "*"
	sweep := func(ctx context.Context, c redis.UniversalClient) error {
		iter := c.Scan(ctx, 0, match, 1000).Iterator()
		var batch []string
		for iter.Next(ctx) {
			batch = append(batch, iter.Val())
			if len(batch) == 1000 {
				if err := fn(batch); err != nil {
					return err
				}
				batch = batch[:0]
			}
		}
		if err := iter.Err(); err != nil {
			return err
		}
		if len(batch) == 0 {
			return nil
		}
		return fn(batch)
	}
	if cc, ok := rdb.(*redis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
			return sweep(ctx, c)
		})
	}
	return sweep(ctx, rdb)
}

// globEscape escapes the characters SCAN MATCH treats specially.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// ErrURL is returned (wrapped) by Open for a URL that is not a Redis URL.
var ErrURL = errors.New("not a Redis URL such as redis://127.0.0.1:6379")

// Open connects to the Redis at rawURL and checks within timeout that it
// answers. Its errors name the URL redacted or only the address, never a
// password; they wrap ErrURL for a URL that does not parse.
//
// A URL with the parameter master_name connects through Redis Sentinel to
// the master of that name, following it when Sentinel fails over:
// redis://sentinel-1:26379/0?master_name=ketenbus&addr=sentinel-2:26379&addr=sentinel-3:26379&password=P,
// with the Sentinels' own user and password, if any, before the host and
// the master's password as the parameter password (go-redis's
// ParseFailoverURL).
func Open(ctx context.Context, rawURL string, timeout time.Duration) (*redis.Client, error) {
	var (
		rdb  *redis.Client
		addr string
	)
	if u, err := url.Parse(rawURL); err == nil && u.Query().Has("master_name") {
		o, err := redis.ParseFailoverURL(rawURL)
		if err != nil || o.MasterName == "" {
			return nil, fmt.Errorf("%s is %w", redact.URL(rawURL), ErrURL)
		}
		rdb = redis.NewFailoverClient(o)
		addr = fmt.Sprintf("master %s of Sentinel %s", o.MasterName, strings.Join(o.SentinelAddrs, ","))
	} else {
		o, err := redis.ParseURL(rawURL)
		if err != nil {
			return nil, fmt.Errorf("%s is %w", redact.URL(rawURL), ErrURL)
		}
		rdb, addr = redis.NewClient(o), o.Addr
	}
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := rdb.Ping(pctx).Err(); err != nil {
		_ = rdb.Close()
		return nil, fmt.Errorf("connect to Redis at %s: %w", addr, err)
	}
	return rdb, nil
}
