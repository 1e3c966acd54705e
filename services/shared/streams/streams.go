// Package streams creates the JetStream streams of ketenbus: EVENTS (the
// source of truth), DELIVERY, DLQ, AUDIT and ACTIVITY (see package
// activity), and its key-value bucket RetiredBucket. Services never rely
// on auto-provisioning; Ensure runs before they start and is idempotent.
package streams

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/shared/activity"
	"github.com/ketenbus/ketenbus/services/shared/bus"
)

// Config configures the streams.
type Config struct {
	// Replicas per stream: 1 for a single server, 3 for a cluster. Default 1.
	Replicas int
	// DuplicateWindow is how long JetStream remembers a Nats-Msg-Id, so the
	// same (source, id) is stored once. Default 24h.
	DuplicateWindow time.Duration
	// Storage defaults to file storage.
	Storage jetstream.StorageType
}

func (c *Config) setDefaults() {
	if c.Replicas == 0 {
		c.Replicas = 1
	}
	if c.DuplicateWindow == 0 {
		c.DuplicateWindow = 24 * time.Hour
	}
}

// Validate reports an impossible config.
func (c Config) Validate() error {
	if c.Replicas < 1 || c.Replicas > 5 {
		return fmt.Errorf("replicas must be 1 to 5, not %d", c.Replicas)
	}
	if c.DuplicateWindow < time.Second {
		return errors.New("duplicate window must be at least 1s")
	}
	return nil
}

// Definitions returns the stream configurations of ketenbus.
func Definitions(cfg Config) []jetstream.StreamConfig {
	cfg.setDefaults()
	def := func(name, subject, desc string) jetstream.StreamConfig {
		return jetstream.StreamConfig{
			Name:        name,
			Description: desc,
			Subjects:    []string{subject},
			Storage:     cfg.Storage,
			Replicas:    cfg.Replicas,
			Retention:   jetstream.LimitsPolicy,
			Discard:     jetstream.DiscardOld,
			Duplicates:  cfg.DuplicateWindow,
			AllowMsgTTL: true,
		}
	}
	evs := def(events.StreamEvents, events.SubjectEventsAll, "ketenbus events, the source of truth")
	evs.AllowAtomicPublish = true
	evs.Discard = jetstream.DiscardNew // never drop events to make room
	return []jetstream.StreamConfig{
		evs,
		def(events.StreamDelivery, events.SubjectDeliveryAll, "deliveries per partner"),
		def(events.StreamDLQ, events.SubjectDLQAll, "deliveries that failed for good, per partner"),
		def(events.StreamAudit, events.SubjectAuditAll, "processing log (Logboek Dataverwerkingen)"),
		activity.StreamConfig(cfg.Replicas, cfg.Storage),
	}
}

// Buckets returns the key-value bucket configurations of ketenbus, kept on
// as many servers as the streams.
func Buckets(cfg Config) []jetstream.KeyValueConfig {
	return []jetstream.KeyValueConfig{RetiredBucketConfig(cfg)}
}

// RetiredBucketConfig returns the configuration of bus.RetiredBucket.
func RetiredBucketConfig(cfg Config) jetstream.KeyValueConfig {
	cfg.setDefaults()
	return jetstream.KeyValueConfig{
		Bucket:      bus.RetiredBucket,
		Description: "ketenbus webhook subscriptions retired after 410 Gone",
		History:     5,
		Replicas:    cfg.Replicas,
		Storage:     cfg.Storage,
	}
}

// Ensure creates or updates every stream of Definitions and every bucket
// of Buckets.
func Ensure(ctx context.Context, js jetstream.JetStream, cfg Config) error {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("streams: %w", err)
	}
	for _, sc := range Definitions(cfg) {
		if _, err := js.CreateOrUpdateStream(ctx, sc); err != nil {
			return fmt.Errorf("create stream %s: %w", sc.Name, err)
		}
	}
	for _, kc := range Buckets(cfg) {
		if _, err := js.CreateOrUpdateKeyValue(ctx, kc); err != nil {
			return fmt.Errorf("create bucket %s: %w", kc.Bucket, err)
		}
	}
	return nil
}
