package adapter

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/events/webhook"
	"github.com/ketenbus/ketenbus/services/shared/activity"
	"github.com/ketenbus/ketenbus/services/shared/bus"
	"github.com/ketenbus/ketenbus/services/shared/fieldcrypt"
	"github.com/ketenbus/ketenbus/services/shared/outbox"
	"github.com/ketenbus/ketenbus/services/shared/region"
	"github.com/ketenbus/ketenbus/services/shared/streams"
	"github.com/ketenbus/ketenbus/services/shared/telemetry"
	"github.com/ketenbus/ketenbus/services/shared/wmjetstream"
)

// Adapter delivers DELIVERY to the partners' webhooks. Create it with New
// and start it with Run.
type Adapter struct {
	cfg    Config
	js     jetstream.JetStream
	logger *slog.Logger
	// deps is what the partners' handlers are given; Run adds the
	// retired set it opens.
	deps     deps
	partners []partnerSetup
	byTopic  map[string]partnerSetup
}

// New checks cfg and prepares a partner handler for every webhook partner
// (or those of cfg.Partners). The error names the field or partner at
// fault, never a secret.
func New(cfg Config) (*Adapter, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	a := &Adapter{
		cfg:     cfg,
		js:      cfg.JetStream,
		logger:  cfg.Logger,
		byTopic: map[string]partnerSetup{},
		deps: deps{
			dlq:      cfg.JetStream,
			outbox:   outbox.New(outbox.Config{JetStream: cfg.JetStream, Region: cfg.Region, Now: cfg.Now}),
			activity: activity.NewPublisher(cfg.JetStream.Conn()),
			client:   cfg.Client,
			metrics:  newMetrics(cfg.Metrics),
			tracer:   telemetry.Tracer(cfg.TracerProvider, "adapter"),
			now:      cfg.Now,
		},
	}
	if len(cfg.Secrets.EncryptionKeys) > 0 {
		keys, err := fieldcrypt.New(cfg.Secrets.EncryptionKeys)
		if err != nil {
			return nil, fmt.Errorf("adapter: encryption_key_env: %w", err)
		}
		a.deps.keys = keys
	}
	var ids []string
	for _, rp := range cfg.webhookPartners() {
		hook := webhookWithDefaults(*rp.Delivery.Webhook)
		signer, err := webhook.NewSigner(cfg.Secrets.WebhookSecrets[rp.ID])
		if err != nil {
			return nil, fmt.Errorf("adapter: partner %s: delivery.webhook.secret_env: %w", rp.ID, err)
		}
		s := partnerSetup{
			id:        rp.ID,
			fields:    map[string]map[string]bool{},
			sensitive: map[string]bool{},
			hook:      hook,
			signer:    signer,
			token:     cfg.Secrets.WebhookTokens[rp.ID],
			logger:    cfg.Logger.With(slog.String("partner", rp.ID)),
		}
		a.deps.metrics.circuitOpen.WithLabelValues(rp.ID).Set(0)
		for _, sub := range rp.Subscriptions {
			s.fields[sub.Name] = map[string]bool{}
			for _, f := range sub.Fields {
				s.fields[sub.Name][f] = true
				if region.SensitiveField(sub.Types, f) {
					s.sensitive[sub.Name] = true
				}
			}
		}
		a.partners = append(a.partners, s)
		a.byTopic[events.DeliverySubject(rp.ID)] = s
		ids = append(ids, rp.ID)
	}
	cfg.Metrics.MustRegister(newStreamGauges(cfg.Metrics, a.js, ids))
	return a, nil
}

// Run delivers until ctx ends: it creates the ketenbus-retired bucket if
// it is missing, then runs one Watermill Router with one handler, on its
// own durable consumer "adapter-<partner>", per partner. A partner with
// handshake: true gets its handler only after its handshake succeeded.
// The consumers are durable, so a restarted adapter continues where it
// stopped; deliveries in flight at the stop come back after their AckWait.
func Run(ctx context.Context, cfg Config) error {
	a, err := New(cfg)
	if err != nil {
		return err
	}
	return a.Run(ctx)
}

// Run runs the adapter until ctx ends, then returns nil; see the function
// Run. It returns an error when the bucket, a consumer or the router cannot
// be set up.
func (a *Adapter) Run(ctx context.Context) error {
	if err := a.run(ctx); err != nil && ctx.Err() == nil {
		return err
	}
	return nil
}

// run is Run; errors caused by ctx ending are Run's to drop.
func (a *Adapter) run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	retired, err := streams.OpenRetired(ctx, a.js, a.cfg.Replicas, a.logger)
	if err != nil {
		return fmt.Errorf("adapter: %w", err)
	}
	d := a.deps
	d.retired = retired
	partners := make([]*partner, len(a.partners))
	for i, setup := range a.partners {
		partners[i] = newPartner(setup, d, a.cfg.Breaker)
	}

	wlogger := wmjetstream.Logger(a.logger)
	sub, err := wmjetstream.NewSubscriber(a.js, wmjetstream.SubscriberConfig{
		Stream:   events.StreamDelivery,
		Consumer: a.consumerConfig,
		Logger:   wlogger,
	})
	if err != nil {
		return fmt.Errorf("adapter: %w", err)
	}
	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: 10 * time.Second}, wlogger)
	if err != nil {
		return fmt.Errorf("adapter: %w", err)
	}
	router.AddMiddleware(withContext(ctx), wmjetstream.Recover(a.logger, "adapter"))

	var pending []*partner
	for _, p := range partners {
		if p.hook.Handshake {
			pending = append(pending, p)
			continue
		}
		router.AddConsumerHandler(bus.AdapterConsumer(p.id), events.DeliverySubject(p.id), sub, p.Handle)
	}

	// Handlers of partners with a handshake are added to the running
	// router; mu keeps that apart from closing it.
	var (
		mu     sync.Mutex
		closed bool
		wg     sync.WaitGroup
		errc   = make(chan error, len(pending))
	)
	go func() {
		<-ctx.Done()
		mu.Lock()
		closed = true
		mu.Unlock()
		_ = router.Close()
	}()
	for _, p := range pending {
		wg.Go(func() {
			if !p.awaitHandshake(ctx, a.cfg.Origin, a.cfg.HandshakeRetry) {
				return
			}
			select {
			case <-router.Running():
			case <-ctx.Done():
				return
			}
			mu.Lock()
			defer mu.Unlock()
			// Router.Run closes the router as soon as ctx ends, before the
			// goroutine above marks closed: a handler added then would
			// never be stopped.
			if closed || ctx.Err() != nil || router.IsClosed() {
				return
			}
			router.AddConsumerHandler(bus.AdapterConsumer(p.id), events.DeliverySubject(p.id), sub, p.Handle)
			if err := router.RunHandlers(ctx); err != nil {
				errc <- fmt.Errorf("adapter: start partner %s: %w", p.id, err)
				cancel()
			}
		})
	}
	if len(a.partners) == 0 {
		a.logger.Warn("no webhook partners; the adapter has nothing to deliver")
	}
	err = router.Run(ctx)
	cancel()
	wg.Wait()
	select {
	case e := <-errc:
		return e
	default:
	}
	if err != nil {
		return fmt.Errorf("adapter: %w", err)
	}
	return nil
}

// consumerConfig is the durable consumer of a partner's DELIVERY subject.
// AckWait covers one request and the writes after it; MaxDeliver is
// unlimited because the adapter decides when a delivery goes to the DLQ.
func (a *Adapter) consumerConfig(topic string) jetstream.ConsumerConfig {
	timeout := region.DefaultWebhookTimeout
	id := strings.TrimPrefix(topic, events.DeliverySubject(""))
	if p, ok := a.byTopic[topic]; ok {
		timeout, id = p.hook.Timeout, p.id
	}
	return bus.AdapterConsumerConfig(id, timeout+ackWaitMargin, a.cfg.MaxAckPending)
}

// withContext gives every message the adapter's context, so requests and
// writes end when the adapter stops.
func withContext(ctx context.Context) message.HandlerMiddleware {
	return func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			msg.SetContext(ctx)
			return h(msg)
		}
	}
}
