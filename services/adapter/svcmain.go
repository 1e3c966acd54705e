package adapter

import (
	"context"
	"strings"

	"github.com/ketenbus/ketenbus/services/shared/natsauth"
	"github.com/ketenbus/ketenbus/services/shared/svcmain"
)

// Main describes the adapter to svcmain: the binary ketenbus-adapter runs
// it on its own (svcmain.Exit), for the partners of --partners or every
// webhook partner, ketenbus dev beside the other services (svcmain.Start),
// for every webhook partner. /metrics, /healthz and /readyz are on
// --metrics-addr.
func Main() svcmain.Service {
	var partners *string
	return svcmain.Service{
		Name:        natsauth.UserAdapter,
		MetricsAddr: "127.0.0.1:9102",
		Flags: func(f *svcmain.Flags) {
			partners = f.String("partners", "KETENBUS_ADAPTER_PARTNERS", "",
				"comma-separated ids of the webhook partners this adapter delivers to; empty: every partner with a webhook")
		},
		Start: func(_ context.Context, env *svcmain.Env) (svcmain.Runner, error) {
			var ids []string
			for id := range strings.SplitSeq(*partners, ",") {
				if id = strings.TrimSpace(id); id != "" {
					ids = append(ids, id)
				}
			}
			return svcmain.AsRunner(New(Config{
				Region:    env.Region,
				Secrets:   env.Secrets,
				JetStream: env.JetStream,
				Logger:    env.Logger,
				Metrics:   env.Metrics,
				Partners:  ids,
			}))
		},
	}
}
