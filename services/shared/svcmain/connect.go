package svcmain

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/redis/go-redis/v9"

	"github.com/ketenbus/ketenbus/services/shared/natsauth"
	"github.com/ketenbus/ketenbus/services/shared/redact"
	"github.com/ketenbus/ketenbus/services/shared/redisx"
)

// redisTimeout bounds the first PING of Redis.
const redisTimeout = 5 * time.Second

// connectNATS connects as o.natsUser, reconnecting forever once
// connected; closed is closed when the connection is. The first connect
// must succeed: its error says which URL and which flag or variable to
// change. No error or log line holds a password.
func connectNATS(o *options, prog string, logger *slog.Logger) (_ *nats.Conn, closed chan struct{}, _ error) {
	closed = make(chan struct{})
	opts := []nats.Option{
		nats.Name(prog),
		nats.MaxReconnects(-1),
		nats.ClosedHandler(func(*nats.Conn) { close(closed) }),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				logger.Warn("disconnected from NATS; reconnecting", slog.String("error", err.Error()))
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			logger.Info("reconnected to NATS", slog.String("url", redact.URL(nc.ConnectedUrl())))
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			attrs := []any{slog.String("error", err.Error())}
			if sub != nil {
				attrs = append(attrs, slog.String("subject", sub.Subject))
			}
			logger.Error("NATS reported an error", attrs...)
		}),
	}
	user := o.natsUser
	passwordEnv := natsauth.PasswordEnv(user)
	var password string
	if user != "" {
		password = o.getenv(passwordEnv)
		opts = append(opts, nats.CustomInboxPrefix(natsauth.InboxPrefix(user)))
	}
	switch {
	case o.natsCreds != "":
		opts = append(opts, nats.UserCredentials(o.natsCreds))
	case user != "" && password != "":
		opts = append(opts, nats.UserInfo(user, password))
	}
	where := redact.URL(o.natsURL)
	// nats.Connect's error for a URL that does not parse quotes it,
	// password and all.
	for _, u := range strings.Split(o.natsURL, ",") {
		if _, err := url.Parse(strings.TrimSpace(u)); err != nil {
			return nil, nil, fmt.Errorf("--nats-url %s: a URL does not parse; write it as nats://host:4222, a password with special characters percent-encoded (env KETENBUS_NATS_URL)", where)
		}
	}
	nc, err := nats.Connect(o.natsURL, opts...)
	switch {
	case err == nil:
		return nc, closed, nil
	case errors.Is(err, nats.ErrAuthorization), errors.Is(err, nats.ErrAuthExpired), errors.Is(err, nats.ErrAuthRevoked):
		how := fmt.Sprintf("set %s to the password of user %q, or pass --nats-creds (env KETENBUS_NATS_CREDS)", passwordEnv, user)
		if o.natsCreds != "" {
			how = "check the credentials file of --nats-creds (env KETENBUS_NATS_CREDS)"
		} else if user == "" {
			how = "pass --nats-user (env KETENBUS_NATS_USER) with its password in KETENBUS_NATS_PASSWORD_<USER>, or --nats-creds"
		}
		return nil, nil, fmt.Errorf("NATS at %s refused the connection of user %q: %w; %s", where, user, err, how)
	case o.natsCreds != "" && !strings.Contains(err.Error(), "no servers"):
		return nil, nil, fmt.Errorf("connect to NATS at %s with --nats-creds %s: %w", where, o.natsCreds, err)
	default:
		return nil, nil, fmt.Errorf("connect to NATS at %s: %w; start NATS there, or pass --nats-url (env KETENBUS_NATS_URL)", where, err)
	}
}

// redisLogger sends what go-redis logs (dial failures of its pool) to the
// service's log instead of plain lines on stderr.
type redisLogger struct{ logger *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	l.logger.WarnContext(ctx, "redis client: "+fmt.Sprintf(format, v...))
}

// connectRedis connects to the Redis at rawURL and checks that it
// answers. No error shows a password.
func connectRedis(ctx context.Context, rawURL string) (*redis.Client, error) {
	rdb, err := redisx.Open(ctx, rawURL, redisTimeout)
	switch {
	case errors.Is(err, redisx.ErrURL):
		return nil, fmt.Errorf("--redis-url %w (env KETENBUS_REDIS_URL)", err)
	case err != nil:
		return nil, fmt.Errorf("%w; start it there, or pass --redis-url (env KETENBUS_REDIS_URL)", err)
	}
	return rdb, nil
}
