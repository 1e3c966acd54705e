package adapter

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"
)

// Headers of the CNCF abuse-protection handshake (CloudEvents HTTP
// webhook specification, section 4).
const (
	headerRequestOrigin = "WebHook-Request-Origin"
	headerAllowedOrigin = "WebHook-Allowed-Origin"
)

// handshake sends one OPTIONS request and returns nil when the endpoint
// allows deliveries from origin. The error text names the status or the
// missing permission, never a body.
func (p *partner) handshake(ctx context.Context, origin string) error {
	ctx, cancel := context.WithTimeout(ctx, p.hook.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodOptions, p.hook.URL, nil)
	if err != nil {
		return errors.New("request not built: invalid webhook url")
	}
	req.Header.Set(headerRequestOrigin, origin)
	p.setCommonHeaders(req.Header)
	res, err := p.a.client.Do(req)
	if err != nil {
		return errors.New(describe(err, p.hook.Timeout))
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, drainBody))
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return errors.New("http " + strconv.Itoa(res.StatusCode))
	}
	switch allowed := res.Header.Get(headerAllowedOrigin); allowed {
	case origin, "*":
		return nil
	case "":
		return errors.New(headerAllowedOrigin + " is missing")
	default:
		return errors.New(headerAllowedOrigin + " does not name " + origin)
	}
}

// awaitHandshake repeats the handshake, waiting first retry and then
// twice as long each time up to five minutes, until the endpoint allows
// deliveries (true) or ctx ends (false). Every refusal is logged as an
// Error: the partner receives nothing meanwhile.
func (p *partner) awaitHandshake(ctx context.Context, origin string, retry time.Duration) bool {
	gauge := p.a.metrics.handshakePending.WithLabelValues(p.id)
	gauge.Set(1)
	wait := retry
	for {
		err := p.handshake(ctx, origin)
		if err == nil {
			gauge.Set(0)
			p.logger.Info("webhook handshake accepted; delivering", slog.String("origin", origin))
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		p.logger.Error("webhook handshake refused; nothing is delivered to the partner until it succeeds",
			slog.String("origin", origin), slog.String("reason", err.Error()), slog.Duration("retry_in", wait))
		select {
		case <-ctx.Done():
			return false
		case <-time.After(wait):
		}
		wait = min(wait*2, maxHandshakeRetry)
	}
}
