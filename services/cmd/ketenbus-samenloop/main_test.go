package main

import (
	"testing"

	"github.com/ketenbus/ketenbus/services/shared/svcmain/svcmaintest"
)

// TestMain_service: samenloop detection serves its metrics and stops
// cleanly, does not start without a Redis that answers, and runs under
// its own NATS user with the permissions of deploy/nats without a single
// permissions violation.
func TestMain_service(t *testing.T) {
	t.Parallel()
	svcmaintest.TestRedisService(t, service(),
		[]string{"ketenbus_samenloop_ready", "ketenbus_samenloop_persons", "ketenbus_samenloop_joined_total", "go_goroutines"},
		[]string{"ketenbus_samenloop_ready"})
}
