package main

import (
	"testing"

	"github.com/ketenbus/ketenbus/services/shared/svcmain/svcmaintest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/natstest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/redistest"
)

func TestMain_servesMetricsAndStops(t *testing.T) {
	t.Parallel()
	env := natstest.Start(t)
	rs := redistest.Start(t)
	reg := svcmaintest.NewRegion(t, "")
	p, body := reg.ServeMetrics(t, service(), env.URL, "--redis-url", rs.URL())
	svcmaintest.WantMetrics(t, body, "ketenbus_samenloop_ready", "ketenbus_samenloop_persons", "ketenbus_samenloop_joined_total", "go_goroutines")
	reg.StopClean(t, p)
}

// TestMain_redisRequired: without a Redis that answers it does not start.
func TestMain_redisRequired(t *testing.T) {
	t.Parallel()
	svcmaintest.WantRedisRequired(t, service())
}

// TestMain_asNATSUser: under its own NATS user, with the permissions of
// deploy/nats, the samenloop starts, serves its metrics and stops without a
// single permissions violation.
func TestMain_asNATSUser(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	body := svcmaintest.NewRegion(t, "").ServeAsNATSUser(t, service(), "--redis-url", rs.URL())
	svcmaintest.WantMetrics(t, body, "ketenbus_samenloop_ready")
}
