package main

import (
	"strings"
	"testing"

	"github.com/ketenbus/ketenbus/events/partner"
	"github.com/ketenbus/ketenbus/services/shared/webhookout"
)

// TestProbeVerdict: the receiver's problem type names what it refused;
// otherwise the verdict says what the adapter would do with the answer
// (webhookout.Classify).
func TestProbeVerdict(t *testing.T) {
	t.Parallel()
	problem := func(status int, typ string) webhookout.Answer {
		return webhookout.Answer{Status: status, Body: []byte(`{"type":"` + typ + `"}`)}
	}
	for _, tc := range []struct {
		a     webhookout.Answer
		token bool
		want  string
	}{
		{webhookout.Answer{Status: 204}, false, "accepted"},
		{problem(401, partner.ProblemInvalidSignature), false, "signature refused (401)"},
		{problem(401, partner.ProblemUnauthorized), true, "bearer token refused (401)"},
		{webhookout.Answer{Status: 403}, true, "refused (403): the partner did not accept the signature or the bearer token"},
		{webhookout.Answer{Status: 401}, false, "refused (401): the partner did not accept the signature;"},
		{problem(400, partner.ProblemRejected), false, "signature accepted, event refused"},
		{problem(410, partner.ProblemGone), false, "410 Gone: a delivery would retire the subscription"},
		{webhookout.Answer{Status: 429}, false, "not accepted (429): a delivery would be retried later"},
		{problem(503, partner.ProblemRetry), false, "not accepted (503): a delivery would be retried later"},
		{webhookout.Answer{Status: 502}, false, "not accepted (502): a delivery would be retried later"},
		{webhookout.Answer{Status: 308}, false, "redirect (308)"},
		{webhookout.Answer{Status: 422}, false, "not accepted (422): a delivery would go to the DLQ at once"},
	} {
		if got := probeVerdict(tc.a, tc.token); !strings.HasPrefix(got, tc.want) {
			t.Errorf("probeVerdict(%d %s) = %q, want %q…", tc.a.Status, tc.a.Body, got, tc.want)
		}
	}
}
