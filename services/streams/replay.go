package streams

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// ReplayOptions say where a replay starts and how it reports progress.
type ReplayOptions struct {
	// FromSeq starts at this stream sequence; zero and no Since means the
	// start of the stream.
	FromSeq uint64
	// Since starts at the first message stored at or after this time.
	Since time.Time
	// Progress, when set, is called now and then with the messages read
	// and the messages to read in all.
	Progress func(done, total uint64)
}

// Replay reads the messages of stream on subjects, in order, from the
// chosen start up to the last one stored when it began, and calls fn for
// each. It stops at fn's first error. It returns the messages read.
func Replay(ctx context.Context, js jetstream.JetStream, stream string, subjects []string, opts ReplayOptions, fn func(jetstream.Msg) error) (uint64, error) {
	st, err := js.Stream(ctx, stream)
	if err != nil {
		return 0, fmt.Errorf("stream %s: %w", stream, err)
	}
	cc := jetstream.OrderedConsumerConfig{FilterSubjects: subjects, DeliverPolicy: jetstream.DeliverAllPolicy}
	switch {
	case opts.FromSeq > 0:
		cc.DeliverPolicy, cc.OptStartSeq = jetstream.DeliverByStartSequencePolicy, opts.FromSeq
	case !opts.Since.IsZero():
		since := opts.Since
		cc.DeliverPolicy, cc.OptStartTime = jetstream.DeliverByStartTimePolicy, &since
	}
	cons, err := st.OrderedConsumer(ctx, cc)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", stream, err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", stream, err)
	}
	total := info.NumPending
	var done uint64
	report := func() {
		if opts.Progress != nil {
			opts.Progress(done, total)
		}
	}
	report()
	for done < total {
		batch, err := cons.Fetch(int(min(total-done, 500)), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return done, fmt.Errorf("read %s: %w", stream, err)
		}
		n := 0
		for m := range batch.Messages() {
			n++
			if err := fn(m); err != nil {
				return done, err
			}
			done++
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoHeartbeat) {
			return done, fmt.Errorf("read %s: %w", stream, err)
		}
		if n == 0 {
			break // nothing more arrived within the wait
		}
		report()
	}
	report()
	return done, nil
}
