package adapter

import (
	"context"
	"fmt"
	"github.com/ketenbus/ketenbus/services/shared/streams"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/trace"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/events/webhook"
	"github.com/ketenbus/ketenbus/services/shared/activity"
	"github.com/ketenbus/ketenbus/services/shared/audit"
	"github.com/ketenbus/ketenbus/services/shared/fieldcrypt"
	"github.com/ketenbus/ketenbus/services/shared/region"
	"github.com/ketenbus/ketenbus/services/shared/telemetry"
	"github.com/ketenbus/ketenbus/services/shared/wmjetstream"
)

// Adapter delivers DELIVERY to the partners' webhooks. Create it with New
// and start it with Run.
type Adapter struct {
	cfg      Config
	js       jetstream.JetStream
	client   *http.Client
	now      func() time.Time
	logger   *slog.Logger
	metrics  *metrics
	partners []*partner
	byTopic  map[string]*partner
	// fields opens sealed data fields; nil when the region has no field
	// key, and then no subscription may list a sensitive field.
	fields *fieldcrypt.Keys
	// audit writes the processing log: one record per delivery that ends.
	audit *audit.Writer
	// activity publishes every attempt and circuit change for the monitor.
	activity *activity.Publisher

	// retired is opened by Run, before any handler runs.
	retired *streams.Retired
	// tracer is nil when not tracing.
	tracer trace.Tracer
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
		client:  cfg.Client,
		now:     cfg.Now,
		logger:  cfg.Logger,
		metrics: newMetrics(cfg.Metrics),
		byTopic: map[string]*partner{},
		audit:   audit.NewWriter(cfg.JetStream, cfg.Region),
		tracer:  telemetry.Tracer(cfg.TracerProvider, "adapter"),
	}
	a.activity = activity.NewPublisher(cfg.JetStream.Conn())
	if len(cfg.Secrets.EncryptionKeys) > 0 {
		keys, err := fieldcrypt.New(cfg.Secrets.EncryptionKeys)
		if err != nil {
			return nil, fmt.Errorf("adapter: encryption_key_env: %w", err)
		}
		a.fields = keys
	}
	for _, rp := range cfg.webhookPartners() {
		hook := webhookWithDefaults(*rp.Delivery.Webhook)
		signer, err := webhook.NewSigner(cfg.Secrets.WebhookSecrets[rp.ID])
		if err != nil {
			return nil, fmt.Errorf("adapter: partner %s: delivery.webhook.secret_env: %w", rp.ID, err)
		}
		p := &partner{
			id:        rp.ID,
			fields:    map[string]map[string]bool{},
			sensitive: map[string]bool{},
			hook:      hook,
			sched:     schedule(hook.RetrySchedule),
			signer:    signer,
			token:     cfg.Secrets.WebhookTokens[rp.ID],
			a:         a,
			logger:    cfg.Logger.With(slog.String("partner", rp.ID)),
		}
		circuit := a.metrics.circuitOpen.WithLabelValues(rp.ID)
		circuit.Set(0)
		p.breaker = newBreaker(cfg.Breaker.Failures, cfg.Breaker.Cooldown, min(hook.Timeout, cfg.Breaker.Cooldown),
			func(from, to breakerState) {
				p.noteCircuit(to)
				if to == breakerClosed {
					circuit.Set(0)
					p.logger.Info("circuit breaker closed; delivering again", slog.String("from", from.String()))
					return
				}
				circuit.Set(1)
				if to == breakerOpen {
					p.logger.Warn("circuit breaker open; requests paused", slog.String("from", from.String()), slog.Duration("cooldown", cfg.Breaker.Cooldown))
				}
			})
		for _, s := range rp.Subscriptions {
			p.fields[s.Name] = map[string]bool{}
			for _, f := range s.Fields {
				p.fields[s.Name][f] = true
				if region.SensitiveField(s.Types, f) {
					p.sensitive[s.Name] = true
				}
			}
		}
		a.partners = append(a.partners, p)
		a.byTopic[events.DeliverySubject(rp.ID)] = p
	}
	cfg.Metrics.MustRegister(newStreamGauges(a.js, a.partners))
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
	a.retired = retired

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
	router.AddMiddleware(sub.Settle, withContext(ctx))

	var pending []*partner
	for _, p := range a.partners {
		if p.hook.Handshake {
			pending = append(pending, p)
			continue
		}
		router.AddConsumerHandler(handlerName(p.id), events.DeliverySubject(p.id), sub, p.Handle)
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
			router.AddConsumerHandler(handlerName(p.id), events.DeliverySubject(p.id), sub, p.Handle)
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
	p := a.byTopic[topic]
	timeout := region.DefaultWebhookTimeout
	name := topic
	if p != nil {
		timeout, name = p.hook.Timeout, p.id
	}
	return jetstream.ConsumerConfig{
		Durable:       handlerName(name),
		Description:   "ketenbus adapter: DELIVERY to the webhook of " + name,
		FilterSubject: topic,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       timeout + ackWaitMargin,
		MaxAckPending: a.cfg.MaxAckPending,
		MaxDeliver:    -1,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	}
}

// handlerName is the name of a partner's handler and durable consumer.
func handlerName(partner string) string { return "adapter-" + partner }

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
