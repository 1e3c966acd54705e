// Command ketenbus-adapter runs the webhook adapter: it delivers DELIVERY
// to the webhook of every partner (or of the partners of --partners), one
// durable consumer per partner. /metrics, /healthz and /readyz are on
// --metrics-addr. See deploy/services.md for the flags.
package main

import (
	"context"
	"strings"

	"github.com/ketenbus/ketenbus/services/adapter"
	"github.com/ketenbus/ketenbus/services/shared/natsauth"
	"github.com/ketenbus/ketenbus/services/shared/svcmain"
)

// defaultMetricsAddr is the default of --metrics-addr.
const defaultMetricsAddr = "127.0.0.1:9102"

func main() { svcmain.Exit(service()) }

// service describes the adapter binary.
func service() svcmain.Service {
	var partners *string
	return svcmain.Service{
		Name:        natsauth.UserAdapter,
		MetricsAddr: defaultMetricsAddr,
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
			a, err := adapter.New(adapter.Config{
				Region:    env.Region,
				Secrets:   env.Secrets,
				JetStream: env.JetStream,
				Logger:    env.Logger,
				Metrics:   env.Metrics,
				Partners:  ids,
			})
			if err != nil {
				return nil, err
			}
			return a, nil
		},
	}
}
