package streams

import (
	"context"
	"errors"

	"github.com/nats-io/nats.go/jetstream"
)

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

// Position is how far a consumer got in its stream, in stream sequences.
type Position struct {
	// Acked: every message up to it is acknowledged.
	Acked uint64
	// Delivered is the last message delivered (acknowledged or not).
	Delivered uint64
}

// ConsumerPosition returns how far the consumer of stream got; found is
// false, without an error, when the consumer does not exist. It costs one
// request.
func ConsumerPosition(ctx context.Context, js jetstream.JetStream, stream, consumer string) (p Position, found bool, err error) {
	c, err := js.Consumer(ctx, stream, consumer)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		return Position{}, false, nil
	}
	if err != nil {
		return Position{}, false, err
	}
	info := c.CachedInfo()
	return Position{Acked: info.AckFloor.Stream, Delivered: info.Delivered.Stream}, true, nil
}

// LastSeq returns the sequence of the last message stored in stream, 0
// when it never stored one. It costs one request.
func LastSeq(ctx context.Context, js jetstream.JetStream, stream string) (uint64, error) {
	st, err := js.Stream(ctx, stream)
	if err != nil {
		return 0, err
	}
	return st.CachedInfo().State.LastSeq, nil
}

// Holds reports whether stream holds a message on one of subjects
// (wildcards allowed) at a sequence from from to to, both included. It
// costs a request per subject, fewer when one is found.
func Holds(ctx context.Context, js jetstream.JetStream, stream string, subjects []string, from, to uint64) (bool, error) {
	st, err := js.Stream(ctx, stream)
	if err != nil {
		return false, err
	}
	for _, subject := range subjects {
		m, err := st.GetMsg(ctx, from, jetstream.WithGetMsgSubject(subject))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			return false, err
		}
		if m.Sequence <= to {
			return true, nil
		}
	}
	return false, nil
}
