package e2e_test

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ketenbus/ketenbus/services/adapter"
	"github.com/ketenbus/ketenbus/services/escalator"
	"github.com/ketenbus/ketenbus/services/gateway"
	"github.com/ketenbus/ketenbus/services/router"
	"github.com/ketenbus/ketenbus/services/samenloop"
	"github.com/ketenbus/ketenbus/services/shared/projector"
	"github.com/ketenbus/ketenbus/services/shared/testutil/natstest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/redistest"
)

// dashboardPath is the Grafana dashboard of deploy/grafana.
const dashboardPath = "../../deploy/grafana/ketenbus.json"

// metricName matches a ketenbus metric name in a PromQL expression.
var metricName = regexp.MustCompile(`\bketenbus_[a-zA-Z0-9_]+`)

// TestDashboardUsesRegisteredMetrics: every ketenbus metric the Grafana
// dashboard queries is registered by the services, constructed on one
// registry as `ketenbus dev` does. A renamed or dropped metric fails here.
func TestDashboardUsesRegisteredMetrics(t *testing.T) {
	t.Parallel()
	dash := readDashboard(t)
	names := dashboardMetrics(t, dash)
	if len(names) == 0 {
		t.Fatalf("%s queries no ketenbus metric", dashboardPath)
	}
	reg := servicesRegistry(t)
	var missing []string
	for _, name := range names {
		if !registered(t, reg, name) {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		t.Errorf("%s queries metrics no service registers: %s", dashboardPath, strings.Join(missing, ", "))
	}
}

// TestDashboardLayout: the dashboard has its rows, a Prometheus datasource
// variable that every panel uses, and a partner variable.
func TestDashboardLayout(t *testing.T) {
	t.Parallel()
	dash := readDashboard(t)
	var rows []string
	for _, p := range dash.Panels {
		if p.Type == "row" {
			rows = append(rows, p.Title)
			continue
		}
		if p.Datasource.UID != "${datasource}" {
			t.Errorf("panel %q uses datasource %q, want ${datasource}", p.Title, p.Datasource.UID)
		}
		for _, tg := range p.Targets {
			if tg.Datasource.UID != "${datasource}" {
				t.Errorf("panel %q, query %s uses datasource %q, want ${datasource}", p.Title, tg.RefID, tg.Datasource.UID)
			}
		}
	}
	if want := []string{"Ingest", "Routing", "Delivery", "Escalatie", "Samenloop"}; !slices.Equal(rows, want) {
		t.Errorf("rows %v, want %v", rows, want)
	}
	vars := map[string]string{}
	for _, v := range dash.Templating.List {
		vars[v.Name] = v.Type
	}
	if vars["datasource"] != "datasource" || vars["partner"] != "query" {
		t.Errorf("template variables %v, want datasource (datasource) and partner (query)", vars)
	}
}

// dashboard is the part of a Grafana dashboard the tests read.
type dashboard struct {
	Panels []struct {
		Type       string `json:"type"`
		Title      string `json:"title"`
		Datasource struct {
			UID string `json:"uid"`
		} `json:"datasource"`
		Targets []struct {
			RefID      string `json:"refId"`
			Datasource struct {
				UID string `json:"uid"`
			} `json:"datasource"`
		} `json:"targets"`
	} `json:"panels"`
	Templating struct {
		List []struct {
			Name string `json:"name"`
			Type string `json:"type"`
		} `json:"list"`
	} `json:"templating"`
	raw any
}

func readDashboard(t *testing.T) dashboard {
	t.Helper()
	b, err := os.ReadFile(dashboardPath)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", dashboardPath, err)
	}
	if err := json.Unmarshal(b, &d.raw); err != nil {
		t.Fatalf("%s: %v", dashboardPath, err)
	}
	return d
}

// dashboardMetrics returns the ketenbus metric names in every query of
// the dashboard (panel targets, nested ones included, and template
// variables), sorted, each once.
func dashboardMetrics(t *testing.T, d dashboard) []string {
	t.Helper()
	seen := map[string]bool{}
	var walk func(key string, v any)
	walk = func(key string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				walk(k, e)
			}
		case []any:
			for _, e := range v {
				walk(key, e)
			}
		case string:
			if key == "expr" || key == "query" || key == "definition" {
				for _, m := range metricName.FindAllString(v, -1) {
					seen[m] = true
				}
			}
		}
	}
	walk("", d.raw)
	out := make([]string, 0, len(seen))
	for m := range seen {
		out = append(out, m)
	}
	sort.Strings(out)
	return out
}

// registered reports whether reg holds the metric name: a series of that
// name (a histogram's _bucket, _sum or _count series count for the
// histogram), gathered or not yet observed. Vectors show no series before
// their first observation, so a name that did not gather is looked up by
// registering a probe of that name: the registry refuses it when a
// collector already describes the name.
func registered(t *testing.T, reg *prometheus.Registry, name string) bool {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	candidates := []string{name}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok {
			candidates = append(candidates, base)
		}
	}
	for _, c := range candidates {
		for _, mf := range mfs {
			if mf.GetName() == c {
				return true
			}
		}
		probe := prometheus.NewGauge(prometheus.GaugeOpts{Name: c, Help: fmt.Sprintf("probe: is %s registered?", c)})
		if err := reg.Register(probe); err != nil {
			return true
		}
		reg.Unregister(probe)
	}
	return false
}

// servicesRegistry constructs gateway, router, adapter, escalator and
// samenloop on one registry, the way `ketenbus dev` does, and returns it.
// They are not run: New registers every metric.
func servicesRegistry(t *testing.T) *prometheus.Registry {
	t.Helper()
	env := natstest.Start(t)
	f := newFixture(t, env, "politie", "zvh", "wijkteam", "veiligthuis", "ggz")
	f.load(t, e2eRegion, map[string]string{
		"politie":     "http://127.0.0.1:1/politie",
		"zvh":         "http://127.0.0.1:1/zvh",
		"wijkteam":    "http://127.0.0.1:1/wijkteam",
		"veiligthuis": "http://127.0.0.1:1/veiligthuis",
	})
	rdb := redistest.Start(t).Client(t)
	reg := prometheus.NewRegistry()

	g, err := gateway.New(gateway.Config{Region: f.region, Secrets: f.secrets, JetStream: env.JS, Logger: f.logger, Metrics: reg})
	if err != nil {
		t.Fatalf("gateway.New: %v", err)
	}
	t.Cleanup(g.Close)
	if _, err := router.New(router.Config{Region: f.region, JetStream: env.JS, Logger: f.logger, Metrics: reg}); err != nil {
		t.Fatalf("router.New: %v", err)
	}
	if _, err := adapter.New(adapter.Config{Region: f.region, Secrets: f.secrets, JetStream: env.JS, Logger: f.logger, Metrics: reg}); err != nil {
		t.Fatalf("adapter.New: %v", err)
	}
	if _, err := escalator.New(escalator.Config{ServiceConfig: projector.ServiceConfig{Region: f.region, JetStream: env.JS, Redis: rdb, Logger: f.logger, Metrics: reg}}); err != nil {
		t.Fatalf("escalator.New: %v", err)
	}
	if _, err := samenloop.New(samenloop.Config{ServiceConfig: projector.ServiceConfig{Region: f.region, JetStream: env.JS, Redis: rdb, Logger: f.logger, Metrics: reg}}); err != nil {
		t.Fatalf("samenloop.New: %v", err)
	}
	return reg
}
