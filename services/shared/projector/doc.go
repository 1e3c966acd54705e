// Package projector runs what the services that keep a projection of
// EVENTS in Redis (the escalator's timers, the samenloop index) share:
// their durable consumer on EVENTS, the projection.Keeper that rebuilds
// the projection when Redis lost it, a rebuild asked for by hand, whether
// Redis answers, and the metrics of all that. The service brings its own
// logic: how an event changes the projection (Config.Apply), how it is
// rebuilt (Config.Rebuild), and what else it runs beside the consumer.
//
// # Config
//
// The Config of such a service embeds ServiceConfig, the fields they all
// have (region, connections, clock, consumer, rebuild lock, logger,
// registry) with their defaults and checks; ServiceConfig.Projector
// hands them on to Config, and Main describes the service to svcmain.
//
// # Handling an event
//
// Handle applies one event of EVENTS inside Keeper.Hold: while the
// projection is being rebuilt it waits for it, up to HoldFor, and then
// the event comes back after a second. An event the projection cannot
// take (Config.Invalid) or that cannot be read is logged and acked;
// retrying cannot help. An event that changed nothing is noted in the
// marker (Config.Note) before it is acked. While Redis (or JetStream)
// cannot store the effect, the event comes back with the consumer's
// backoff.
//
// # Metrics
//
// With S the service (Config.Service): ketenbus_S_ready (1 while Redis
// answers), the size gauge of Config.Size, and those of
// projection.NewMetrics: ketenbus_S_rebuilds_total{reason},
// ketenbus_S_rebuild_failures_total and ketenbus_S_rebuilding.
package projector
