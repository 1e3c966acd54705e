package adapter

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/ketenbus/ketenbus/services/shared/webhookout"
)

// handshake sends one OPTIONS request and returns nil when the endpoint
// allows deliveries from origin. The error text names the status or the
// missing permission, never a body.
func (p *partner) handshake(ctx context.Context, origin string) error {
	h := http.Header{}
	webhookout.SetCommonHeaders(h, p.token)
	_, err := webhookout.Handshake(ctx, p.client, p.hook.URL, origin, h, p.hook.Timeout)
	return err
}

// awaitHandshake repeats the handshake, waiting first retry and then
// twice as long each time up to five minutes, until the endpoint allows
// deliveries (true) or ctx ends (false). Every refusal is logged as an
// Error: the partner receives nothing meanwhile.
func (p *partner) awaitHandshake(ctx context.Context, origin string, retry time.Duration) bool {
	gauge := p.metrics.handshakePending.WithLabelValues(p.id)
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
