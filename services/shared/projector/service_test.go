package projector_test

import (
	"testing"
	"time"

	"github.com/ketenbus/ketenbus/services/shared/projector"
)

func TestServiceConfigDefaults(t *testing.T) {
	var c projector.ServiceConfig
	c.SetDefaults("toy")
	if c.Durable != "toy" || c.CheckInterval != 10*time.Second || c.RebuildLock != 30*time.Second ||
		c.Now == nil || c.Logger == nil || c.Metrics == nil {
		t.Errorf("defaults = %+v", c)
	}
	c = projector.ServiceConfig{Durable: "mine", CheckInterval: time.Second}
	c.SetDefaults("toy")
	if c.Durable != "mine" || c.CheckInterval != time.Second {
		t.Errorf("SetDefaults overwrote what was set: %+v", c)
	}
}

func TestServiceConfigValidate(t *testing.T) {
	err := projector.ServiceConfig{RebuildLock: -1}.Validate("toy")
	want := "toy: Region is missing\ntoy: JetStream is missing\ntoy: Redis is missing\n" +
		"toy: CheckInterval and RebuildLock must not be negative"
	if err == nil || err.Error() != want {
		t.Errorf("Validate() = %v, want %q", err, want)
	}
}
