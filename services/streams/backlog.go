package streams

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// ScrapeTimeout bounds what a metrics collector asks NATS at one scrape,
// so an unreachable broker never hangs a scrape.
const ScrapeTimeout = 2 * time.Second

// Backlog returns how many messages the consumer of stream has not acked:
// not yet delivered plus in flight. found is false, without an error,
// when the consumer does not exist. It costs one request.
func Backlog(ctx context.Context, js jetstream.JetStream, stream, consumer string) (n uint64, found bool, err error) {
	c, err := js.Consumer(ctx, stream, consumer)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	info := c.CachedInfo()
	return info.NumPending + uint64(info.NumAckPending), true, nil
}
