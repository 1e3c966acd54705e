package devstack

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/events/partner"
	"github.com/ketenbus/ketenbus/services/shared/region"
)

// DefaultSinkAddr is where the demo region's webhook URLs point.
const DefaultSinkAddr = "127.0.0.1:8181"

// demoSinks returns an http.Handler with one partner receiver per webhook
// partner of a demo region, at /<partner>: each verifies the signature
// with the partner's secret, as the partner's own system would, and logs
// what arrived: type, id (a BSN in it replaced, as in every log),
// pseudonym (short), sequence and the names of the data fields, never
// their values.
func demoSinks(reg *region.Config, secrets region.Secrets, log *slog.Logger) (http.Handler, error) {
	mux := http.NewServeMux()
	for _, p := range reg.Partners {
		wh := p.Delivery.Webhook
		if wh == nil {
			continue
		}
		u, err := url.Parse(wh.URL)
		if err != nil {
			return nil, fmt.Errorf("partner %s: webhook url: %w", p.ID, err)
		}
		id := p.ID
		rcv, err := partner.NewReceiver(partner.ReceiverConfig{
			Secrets: []string{secrets.WebhookSecrets[id]},
			Token:   secrets.WebhookTokens[id],
			Handler: func(ctx context.Context, e cloudevents.Event) error {
				var data map[string]any
				_ = e.DataAs(&data)
				fields := make([]string, 0, len(data))
				for k := range data {
					fields = append(fields, k)
				}
				slices.Sort(fields)
				seq, _ := partner.Sequence(e)
				log.Info("demo sink received", "partner", id, "type", e.Type(), "id", events.RedactBSNs(e.ID()),
					"subject", events.ShortPseudonym(e.Subject()), "sequence", seq,
					"fields", strings.Join(fields, ","))
				return nil
			},
			Logger: log,
		})
		if err != nil {
			return nil, fmt.Errorf("partner %s: demo sink: %w", p.ID, err)
		}
		mux.Handle(u.Path, rcv)
	}
	return mux, nil
}

// pointWebhooksAt rewrites the demo region's webhook URLs that point at
// DefaultSinkAddr to the address the sinks really listen on.
func pointWebhooksAt(reg *region.Config, addr net.Addr) {
	for i := range reg.Partners {
		wh := reg.Partners[i].Delivery.Webhook
		if wh == nil {
			continue
		}
		u, err := url.Parse(wh.URL)
		if err != nil || u.Host != DefaultSinkAddr {
			continue
		}
		u.Host = addr.String()
		wh.URL = u.String()
	}
}
