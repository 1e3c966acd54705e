package streams

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ReplayOptions say where a replay starts and stops and how it reports
// progress.
type ReplayOptions struct {
	// FromSeq starts at this stream sequence; zero and no Since means the
	// start of the stream.
	FromSeq uint64
	// Since starts at the first message stored at or after this time.
	Since time.Time
	// ToSeq, when not zero, stops after this stream sequence: the message
	// at ToSeq is the last one read.
	ToSeq uint64
	// Until, when not zero, stops before the first message stored at or
	// after this time: a replay from Since to Until reads [Since, Until).
	Until time.Time
	// Progress, when set, is called now and then with the messages read
	// and the messages to read in all.
	Progress func(done, total uint64)
}

// Replay reads the messages of stream on subjects, in order, from the
// chosen start up to the last one stored when it began (or, earlier, the
// stop of ToSeq or Until), and calls fn for each. It stops at fn's first
// error. It returns the messages read.
func Replay(ctx context.Context, js jetstream.JetStream, stream string, subjects []string, opts ReplayOptions, fn func(jetstream.Msg) error) (uint64, error) {
	st, err := js.Stream(ctx, stream)
	if err != nil {
		return 0, fmt.Errorf("stream %s: %w", stream, err)
	}
	cc := jetstream.OrderedConsumerConfig{FilterSubjects: subjects, DeliverPolicy: jetstream.DeliverAllPolicy}
	ok, err := StartFrom(ctx, st, &cc, opts.FromSeq, opts.Since)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", stream, err)
	}
	if !ok {
		if opts.Progress != nil {
			opts.Progress(0, 0)
		}
		return 0, nil
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
	bounded := opts.ToSeq > 0 || !opts.Until.IsZero()
	// past reports whether m lies after the stop of ToSeq or Until.
	past := func(m jetstream.Msg) (bool, error) {
		md, err := m.Metadata()
		if err != nil {
			return false, fmt.Errorf("read %s: %w", stream, err)
		}
		return (opts.ToSeq > 0 && md.Sequence.Stream > opts.ToSeq) ||
			(!opts.Until.IsZero() && !md.Timestamp.Before(opts.Until)), nil
	}
	if total == 0 {
		return 0, nil
	}
	// Messages keeps pulling ahead while fn works.
	it, err := cons.Messages(jetstream.PullMaxMessages(1000))
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", stream, err)
	}
	defer it.Stop()
	for done < total {
		m, err := it.Next(jetstream.NextMaxWait(5 * time.Second))
		if errors.Is(err, nats.ErrTimeout) {
			break // nothing more arrived within the wait (removed meanwhile)
		}
		if err != nil {
			return done, fmt.Errorf("read %s: %w", stream, err)
		}
		if bounded {
			if stop, err := past(m); err != nil || stop {
				total = done
				report()
				return done, err
			}
		}
		if err := fn(m); err != nil {
			return done, err
		}
		if done++; done%500 == 0 {
			report()
		}
	}
	report()
	return done, nil
}

// StartFrom makes the ordered consumer cc of st start at sequence fromSeq,
// or, when fromSeq is 0 and since is set, at the first message stored at
// or after since; with neither it leaves cc as it is. nats-server (2.15.2)
// starts a consumer with several filter subjects and a start time too
// late, so the time is turned into a sequence without filters first. ok
// is false when since is set and nothing was stored since: cc then starts
// after the last message stored before StartFrom looked, so a follower
// misses nothing stored before its consumer is made.
func StartFrom(ctx context.Context, st jetstream.Stream, cc *jetstream.OrderedConsumerConfig, fromSeq uint64, since time.Time) (ok bool, err error) {
	switch {
	case fromSeq > 0:
		cc.DeliverPolicy, cc.OptStartSeq = jetstream.DeliverByStartSequencePolicy, fromSeq
	case !since.IsZero():
		info, err := st.Info(ctx)
		if err != nil {
			return false, err
		}
		seq, found, err := firstSeqSince(ctx, st, since)
		if err != nil {
			return false, err
		}
		if !found {
			seq = info.State.LastSeq + 1
		}
		cc.DeliverPolicy, cc.OptStartSeq = jetstream.DeliverByStartSequencePolicy, seq
		return found, nil
	}
	return true, nil
}

// firstSeqSince returns the sequence of the first message of st stored
// at or after since; ok is false when there is none.
func firstSeqSince(ctx context.Context, st jetstream.Stream, since time.Time) (seq uint64, ok bool, err error) {
	cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartTimePolicy, OptStartTime: &since})
	if err != nil {
		return 0, false, err
	}
	info, err := cons.Info(ctx)
	if err != nil || info.NumPending == 0 {
		return 0, false, err
	}
	m, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
	if err != nil {
		return 0, false, err
	}
	md, err := m.Metadata()
	if err != nil {
		return 0, false, err
	}
	return md.Sequence.Stream, true, nil
}
