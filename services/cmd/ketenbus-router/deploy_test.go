package main

import (
	"testing"

	"github.com/ketenbus/ketenbus/services/shared/deploytest"
)

// TestDeployment: deploy/kubernetes and deploy/docker run this binary with
// flags, variables, ports and probes it has.
func TestDeployment(t *testing.T) {
	t.Parallel()
	deploytest.Service(t, service())
}
