package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/shared/bus"
	"github.com/ketenbus/ketenbus/services/shared/natsauth"
	"github.com/ketenbus/ketenbus/services/shared/region"
	"github.com/ketenbus/ketenbus/services/shared/streams"
)

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
