package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/shared/bus"
	"github.com/ketenbus/ketenbus/services/shared/natsauth"
	"github.com/ketenbus/ketenbus/services/shared/region"
	"github.com/ketenbus/ketenbus/services/shared/streams"
)

// streamsReport is what ketenbus streams shows; --json prints it as one
// object.
type streamsReport struct {
	Streams   []streamState   `json:"streams"`
	Consumers []consumerState `json:"consumers"`
	// DLQ counts the dead letters per partner (subject ketenbus.dlq.<partner>).
	DLQ map[string]uint64 `json:"dlq_per_partner"`
}

type streamState struct {
	Name      string     `json:"name"`
	Messages  uint64     `json:"messages"`
	Bytes     uint64     `json:"bytes"`
	FirstSeq  uint64     `json:"first_seq"`
	FirstTime *time.Time `json:"first_time,omitempty"`
	LastSeq   uint64     `json:"last_seq"`
	LastTime  *time.Time `json:"last_time,omitempty"`
}

type consumerState struct {
	Stream string `json:"stream"`
	Name   string `json:"name"`
	// Pending are the messages not yet delivered (num_pending).
	Pending uint64 `json:"pending"`
	// AckPending are the messages delivered and not yet acked.
	AckPending int `json:"ack_pending"`
	// Redeliveries are the unacked messages delivered more than once
	// (num_redelivered).
	Redeliveries int `json:"redeliveries"`
	// OldestUnacked is the first message after the ack floor, when a
	// message is unacked: its stream sequence, when it was stored and how
	// long ago.
	OldestUnackedSeq  uint64     `json:"oldest_unacked_seq,omitempty"`
	OldestUnackedTime *time.Time `json:"oldest_unacked_time,omitempty"`
	OldestUnackedAge  float64    `json:"oldest_unacked_age_seconds,omitempty"`
}

func newStreamsCmd() *cobra.Command {
	var (
		conn   connFlags
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "streams",
		Short: "Show the streams and consumers at a glance",
		Long: `Streams shows every JetStream stream (EVENTS, DELIVERY, DLQ, AUDIT and any
other) with its messages, bytes and first and last sequence and time; every
consumer with the messages it has still to deliver (pending), delivered
but not acked (ack pending), redelivered, and the age of its oldest
unacked message; and the dead letters per partner (DLQ subjects
ketenbus.dlq.<partner>).

Only counts and times are read, never a message's content.`,
		Example: `  ketenbus streams --nats-url nats://nats:4222

  # the consumers that lag, with jq
  ketenbus streams --json | jq '.consumers[] | select(.pending > 1000)'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return conn.withNATS(func(_ *region.Config, js jetstream.JetStream) error {
				rep, err := collectStreams(cmd.Context(), js, time.Now())
				if err != nil {
					return err
				}
				if asJSON {
					return json.NewEncoder(cmd.OutOrStdout()).Encode(rep)
				}
				return printStreams(cmd.OutOrStdout(), rep)
			})
		},
	}
	conn.registerNATS(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object {streams, consumers, dlq_per_partner}")
	cmd.AddCommand(newStreamsEnsureCmd())
	return cmd
}

// streamOrder puts the ketenbus streams first, in the order of the data
// flow, then the others by name.
func streamOrder(a, b string) int {
	rank := func(name string) int {
		if i := slices.Index([]string{events.StreamEvents, events.StreamDelivery, events.StreamDLQ, events.StreamAudit}, name); i >= 0 {
			return i
		}
		return 4
	}
	return cmp.Or(cmp.Compare(rank(a), rank(b)), strings.Compare(a, b))
}

// collectStreams reads the state of every stream and consumer; now gives
// the ages.
func collectStreams(ctx context.Context, js jetstream.JetStream, now time.Time) (*streamsReport, error) {
	rep := &streamsReport{Streams: []streamState{}, Consumers: []consumerState{}, DLQ: map[string]uint64{}}
	var names []string
	lister := js.StreamNames(ctx)
	for name := range lister.Name() {
		names = append(names, name)
	}
	if err := lister.Err(); err != nil {
		return nil, fmt.Errorf("list streams: %w", err)
	}
	slices.SortFunc(names, streamOrder)
	for _, name := range names {
		st, err := js.Stream(ctx, name)
		if err != nil {
			if errors.Is(err, jetstream.ErrStreamNotFound) {
				continue // deleted meanwhile
			}
			return nil, fmt.Errorf("stream %s: %w", name, err)
		}
		var opts []jetstream.StreamInfoOpt
		if name == events.StreamDLQ {
			opts = append(opts, jetstream.WithSubjectFilter(events.SubjectDLQAll))
		}
		info, err := st.Info(ctx, opts...)
		if err != nil {
			return nil, fmt.Errorf("stream %s: %w", name, err)
		}
		s := info.State
		rep.Streams = append(rep.Streams, streamState{Name: name, Messages: s.Msgs, Bytes: s.Bytes,
			FirstSeq: s.FirstSeq, FirstTime: timeOrNil(s.FirstTime, s.Msgs), LastSeq: s.LastSeq, LastTime: timeOrNil(s.LastTime, s.Msgs)})
		if name == events.StreamDLQ {
			for subject, n := range s.Subjects {
				if partner, ok := strings.CutPrefix(subject, "ketenbus.dlq."); ok {
					rep.DLQ[partner] += n
				}
			}
		}
		consumers, err := consumersOf(ctx, st, now)
		if err != nil {
			return nil, fmt.Errorf("consumers of %s: %w", name, err)
		}
		rep.Consumers = append(rep.Consumers, consumers...)
	}
	return rep, nil
}

func timeOrNil(t time.Time, msgs uint64) *time.Time {
	if msgs == 0 || t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

// consumersOf returns the state of the consumers of st, by name.
func consumersOf(ctx context.Context, st jetstream.Stream, now time.Time) ([]consumerState, error) {
	var out []consumerState
	lister := st.ListConsumers(ctx)
	for ci := range lister.Info() {
		c := consumerState{Stream: ci.Stream, Name: ci.Name, Pending: ci.NumPending,
			AckPending: ci.NumAckPending, Redeliveries: ci.NumRedelivered}
		if ci.NumAckPending > 0 {
			if m, err := oldestUnacked(ctx, st, ci); err == nil {
				t := m.Time.UTC()
				c.OldestUnackedSeq, c.OldestUnackedTime = m.Sequence, &t
				c.OldestUnackedAge = max(now.Sub(t).Seconds(), 0)
			} else if !errors.Is(err, jetstream.ErrMsgNotFound) {
				return nil, err
			}
		}
		out = append(out, c)
	}
	if err := lister.Err(); err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b consumerState) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// oldestUnacked returns the first message after the consumer's ack floor
// that its filter selects: the oldest it has not acked.
func oldestUnacked(ctx context.Context, st jetstream.Stream, ci *jetstream.ConsumerInfo) (*jetstream.RawStreamMsg, error) {
	filters := ci.Config.FilterSubjects
	if ci.Config.FilterSubject != "" {
		filters = append(filters, ci.Config.FilterSubject)
	}
	if len(filters) == 0 {
		filters = []string{">"}
	}
	var oldest *jetstream.RawStreamMsg
	for _, f := range filters {
		m, err := st.GetMsg(ctx, ci.AckFloor.Stream+1, jetstream.WithGetMsgSubject(f))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if oldest == nil || m.Sequence < oldest.Sequence {
			oldest = m
		}
	}
	if oldest == nil {
		return nil, jetstream.ErrMsgNotFound
	}
	return oldest, nil
}

// printStreams prints the streams, the consumers and the dead letters per
// partner as three tables.
func printStreams(out io.Writer, rep *streamsReport) error {
	at := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.Format(time.RFC3339)
	}
	var rows [][]string
	for _, s := range rep.Streams {
		rows = append(rows, []string{s.Name, fmt.Sprint(s.Messages), fmt.Sprint(s.Bytes),
			fmt.Sprint(s.FirstSeq), at(s.FirstTime), fmt.Sprint(s.LastSeq), at(s.LastTime)})
	}
	if err := writeTable(out, []string{"STREAM", "MESSAGES", "BYTES", "FIRST SEQ", "FIRST TIME", "LAST SEQ", "LAST TIME"}, rows); err != nil {
		return err
	}
	fmt.Fprintln(out)
	rows = nil
	for _, c := range rep.Consumers {
		age := ""
		if c.OldestUnackedTime != nil {
			age = (time.Duration(c.OldestUnackedAge) * time.Second).String()
		}
		rows = append(rows, []string{c.Stream, c.Name, fmt.Sprint(c.Pending), fmt.Sprint(c.AckPending),
			fmt.Sprint(c.Redeliveries), age})
	}
	if err := writeTable(out, []string{"STREAM", "CONSUMER", "PENDING", "ACK PENDING", "REDELIVERED", "OLDEST UNACKED"}, rows); err != nil {
		return err
	}
	fmt.Fprintln(out)
	rows = nil
	partners := make([]string, 0, len(rep.DLQ))
	for p := range rep.DLQ {
		partners = append(partners, p)
	}
	slices.Sort(partners)
	for _, p := range partners {
		rows = append(rows, []string{p, fmt.Sprint(rep.DLQ[p])})
	}
	if len(rows) == 0 {
		_, err := fmt.Fprintln(out, "DLQ: empty")
		return err
	}
	return writeTable(out, []string{"PARTNER", "DLQ MESSAGES"}, rows)
}

func newStreamsEnsureCmd() *cobra.Command {
	var (
		conn     connFlags
		replicas int
		yes      bool
		asJSON   bool
	)
	cmd := &cobra.Command{
		Use:   "ensure",
		Short: "Create the streams and the NATS-native partners' consumers, or bring them up to date",
		Long: `Ensure creates the streams of ketenbus (EVENTS, DELIVERY, DLQ, AUDIT and
ACTIVITY), its key-value bucket ketenbus-retired (stream
KV_ketenbus-retired) and the consumer of every NATS-native partner in the
region config, or brings existing ones up to date. The services never create
them: run it once before the first start, and again after upgrading
ketenbus or adding a NATS-native partner. Running it twice changes nothing.

Connect as a user that may create streams and consumers: the NATS admin
user (--nats-user admin, its password in KETENBUS_NATS_PASSWORD_ADMIN, or
--nats-creds).

--replicas is how many servers keep each stream and the bucket: 1 for a
single server, 3 for the 3-node cluster. A stream that exists with another number is left
alone unless --yes says to change it, so a forgotten --replicas 3 does not
shrink a cluster's streams.`,
		Example: `  # a single server, KETENBUS_NATS_PASSWORD_ADMIN set
  ketenbus streams ensure --nats-url nats://nats:4222 --nats-user admin

  # the 3-node cluster
  ketenbus streams ensure --replicas 3 --nats-url nats://nats-1:4222,nats://nats-2:4222,nats://nats-3:4222 --nats-user admin`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if replicas < 1 || replicas > 5 {
				return &usageError{fmt.Errorf("--replicas %d: pass 1 for a single server, 3 for a cluster (at most 5)", replicas)}
			}
			return conn.withNATS(func(reg *region.Config, js jetstream.JetStream) error {
				rep, err := ensureStreams(cmd.Context(), js, reg, streams.Config{Replicas: replicas}, yes)
				if err != nil {
					return err
				}
				if asJSON {
					return json.NewEncoder(cmd.OutOrStdout()).Encode(rep)
				}
				printEnsured(cmd.OutOrStdout(), rep)
				return nil
			})
		},
	}
	conn.registerNATS(cmd)
	cmd.Flags().IntVar(&replicas, "replicas", 1, "servers that keep each stream: 1 for a single server, 3 for a cluster")
	cmd.Flags().BoolVar(&yes, "yes", false, "change the replicas of streams that exist with another number")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object {streams: [{name, created, replicas}], consumers: [{stream, name, partner}]}")
	return cmd
}

// ensured is what ensure did; --json prints it.
type ensured struct {
	Streams   []ensuredStream   `json:"streams"`
	Consumers []ensuredConsumer `json:"consumers"`
}

type ensuredStream struct {
	Name     string `json:"name"`
	Created  bool   `json:"created"`
	Replicas int    `json:"replicas"`
}

type ensuredConsumer struct {
	Stream  string `json:"stream"`
	Name    string `json:"name"`
	Partner string `json:"partner"`
}

// ensureStreams runs streams.Ensure and natsauth.EnsurePartnerConsumers,
// after checking that no existing stream's replicas would change unless
// yes.
func ensureStreams(ctx context.Context, js jetstream.JetStream, reg *region.Config, cfg streams.Config, yes bool) (ensured, error) {
	var rep ensured
	type wanted struct {
		name     string // the stream; a bucket's is bus.BucketStream
		replicas int
		bucket   bool
	}
	var want []wanted
	for _, sc := range streams.Definitions(cfg) {
		want = append(want, wanted{sc.Name, sc.Replicas, false})
	}
	for _, kc := range streams.Buckets(cfg) {
		want = append(want, wanted{bus.BucketStream(kc.Bucket), kc.Replicas, true})
	}
	existed := map[string]bool{}
	var changes []string
	for _, w := range want {
		st, err := js.Stream(ctx, w.name)
		switch {
		case errors.Is(err, jetstream.ErrStreamNotFound):
			continue
		case err != nil:
			return rep, asAdmin(fmt.Errorf("read stream %s: %w", w.name, err))
		}
		existed[w.name] = true
		if have := st.CachedInfo().Config.Replicas; have != w.replicas {
			changes = append(changes, fmt.Sprintf("%s has %d", w.name, have))
		}
	}
	if len(changes) > 0 && !yes {
		return rep, &usageError{fmt.Errorf("%s, not --replicas %d: pass the --replicas the streams have, or --yes to change them", strings.Join(changes, ", "), cfg.Replicas)}
	}
	if err := streams.Ensure(ctx, js, cfg); err != nil {
		return rep, asAdmin(err)
	}
	for _, w := range want {
		rep.Streams = append(rep.Streams, ensuredStream{w.name, !existed[w.name], w.replicas})
	}
	if err := natsauth.EnsurePartnerConsumers(ctx, js, reg); err != nil {
		return rep, asAdmin(err)
	}
	for _, p := range reg.Partners {
		if p.Delivery.NATS != nil {
			rep.Consumers = append(rep.Consumers, ensuredConsumer{events.StreamDelivery, bus.PartnerConsumer(p.ID), p.ID})
		}
	}
	return rep, nil
}

func printEnsured(out io.Writer, rep ensured) {
	for _, s := range rep.Streams {
		what := "up to date"
		if s.Created {
			what = "created"
		}
		fmt.Fprintf(out, "stream %-9s %s, %d replica(s)\n", s.Name, what, s.Replicas)
	}
	for _, c := range rep.Consumers {
		fmt.Fprintf(out, "consumer %s on %s for NATS-native partner %s: up to date\n", c.Name, c.Stream, c.Partner)
	}
}

// asAdmin adds to an error that JetStream did not answer with a reason (a
// user without the permission gets no answer) that ensure needs admin.
func asAdmin(err error) error {
	var api *jetstream.APIError
	if errors.As(err, &api) {
		return err
	}
	return fmt.Errorf("%w (is this the NATS admin user? only it may create streams and consumers)", err)
}
