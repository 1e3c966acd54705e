package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/events/bsntest"
	"github.com/ketenbus/ketenbus/services/shared/region"
)

// benchOptions are the flags of ketenbus bench.
type benchOptions struct {
	gateway     string
	tokenEnv    string
	partner     string
	config      string
	rate        float64
	duration    time.Duration
	concurrency int
	yes         bool
	asJSON      bool
}

// benchResult is what ketenbus bench measured; --json prints it.
type benchResult struct {
	Gateway string `json:"gateway"`
	Partner string `json:"partner"`
	// Rate is the rate asked for, in events per second; 0: as fast as
	// the concurrency allows.
	Rate        float64 `json:"rate"`
	Concurrency int     `json:"concurrency"`
	Sent        int     `json:"sent"`
	Seconds     float64 `json:"seconds"`
	PerSecond   float64 `json:"per_second"`
	// Status counts the gateway's answers by HTTP status; "none" counts
	// the requests that got no answer.
	Status map[string]int `json:"status"`
	// LatencyMS is the time to the gateway's 202 Accepted, from the moment
	// the event was due to be sent, so a gateway that falls behind shows.
	LatencyMS *benchLatency `json:"latency_ms,omitempty"`
	// Errors are the first few distinct reasons requests failed.
	Errors []string `json:"errors,omitempty"`
}

type benchLatency struct {
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// maxBenchErrors bounds the distinct failure reasons bench keeps.
const maxBenchErrors = 5

func newBenchCmd() *cobra.Command {
	var opts benchOptions
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Post generated signalen to the gateway at a steady rate and measure its answers",
		Long: `Bench posts signalen to the gateway at --rate events per second for
--duration, --concurrency at a time, as one publishing partner, and reports
the rate reached, the gateway's answers by HTTP status, and the latency of
its 202 Accepted (p50, p90, p99, max). Latency counts from the moment an
event was due, so a gateway that falls behind the rate shows as latency,
not as a lower rate alone.

The signalen are fictitious: ids bench-<run>-<n>, one generated BSN that
passes the elfproef, categorie anders, urgentie laag. They are stored and
routed like any other: every partner that subscribes to signalen receives
them, and the processing log records their deliveries. Bench therefore
runs only against a demo region (demo: true in the region config) unless
--yes says this region's partners may receive them.

The partner is --partner, or else the first partner in the region config
that publishes signalen; the events come from its first source. The token
is read from --token-env, or else the partner's token_env. The gateway's
rate_limit for the partner applies: answers 429 mean --rate is above it.

Exit code: 0 the gateway accepted every event, 1 it refused some or could
not be reached, 2 wrong usage.`,
		Example: `  # against ketenbus dev, as politie, 200 signalen per second for 10 seconds
  source .ketenbus/demo.env
  ketenbus bench --partner politie --rate 200

  # as fast as 32 requests at a time allow, for a minute, as JSON
  ketenbus bench --partner politie --rate 0 --concurrency 32 --duration 1m --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBench(cmd.Context(), cmd.OutOrStdout(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.partner, "partner", "", "the publishing partner (default: the first partner in the region config that publishes signalen)")
	registerGateway(cmd, &opts.gateway, &opts.tokenEnv)
	registerConfig(cmd, &opts.config)
	fl.Float64Var(&opts.rate, "rate", 100, "events per second to send; 0: as fast as --concurrency allows")
	fl.DurationVar(&opts.duration, "duration", 10*time.Second, "how long to send")
	fl.IntVar(&opts.concurrency, "concurrency", 16, "requests in flight at most")
	fl.BoolVar(&opts.yes, "yes", false, "run against a region that is not a demo region: its partners receive the signalen")
	fl.BoolVar(&opts.asJSON, "json", false, "print the result as one JSON object")
	_ = cmd.RegisterFlagCompletionFunc("partner", completePartners)
	return cmd
}

func runBench(ctx context.Context, out io.Writer, opts benchOptions) error {
	switch {
	case opts.rate < 0:
		return &usageError{fmt.Errorf("--rate %g is negative: pass events per second, or 0 for as fast as possible", opts.rate)}
	case opts.duration <= 0:
		return &usageError{fmt.Errorf("--duration %s is not positive: pass how long to send, such as 10s", opts.duration)}
	case opts.concurrency < 1:
		return &usageError{fmt.Errorf("--concurrency %d: pass 1 or more requests in flight", opts.concurrency)}
	}
	if err := checkPartnerID(opts.partner); err != nil {
		return err
	}
	reg, err := region.Load(opts.config)
	if err != nil {
		return &usageError{fmt.Errorf("bench reads the publishing partner from the region config: %w; pass --config FILE", err)}
	}
	if !reg.Demo && !opts.yes {
		return &usageError{fmt.Errorf("region %s is not a demo region: every partner that subscribes to signalen would receive bench's fictitious signalen; pass --yes if they may", reg.Region)}
	}
	p, err := benchPartner(reg, opts.partner, opts.config)
	if err != nil {
		return err
	}
	token, err := publishToken(publishOptions{tokenEnv: opts.tokenEnv, partner: p.ID, config: opts.config}, nil)
	if err != nil {
		return err
	}
	url := strings.TrimSuffix(opts.gateway, "/")
	if !strings.HasSuffix(url, "/v1/events") {
		url += "/v1/events"
	}
	b := &bench{
		url: url, token: token, source: p.Sources[0], bsn: bsntest.New(rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))),
		run:    strconv.FormatInt(time.Now().UnixMilli(), 36),
		client: &http.Client{Timeout: publishTimeout, Transport: &http.Transport{MaxIdleConnsPerHost: opts.concurrency}},
		res:    benchResult{Gateway: opts.gateway, Partner: p.ID, Rate: opts.rate, Concurrency: opts.concurrency, Status: map[string]int{}},
	}
	b.send(ctx, opts)
	return finishBench(out, b.result(), opts.asJSON)
}

// benchPartner returns the publishing partner: name, or else the first
// that publishes signalen. It must publish signalen from a source.
func benchPartner(reg *region.Config, name, config string) (*region.Partner, error) {
	if name == "" {
		for i := range reg.Partners {
			if p := &reg.Partners[i]; slices.Contains(p.Publishes, events.TypeSignaal) && len(p.Sources) > 0 {
				return p, nil
			}
		}
		return nil, &usageError{fmt.Errorf("no partner in region config %s publishes signalen; pass --partner", config)}
	}
	p, ok := reg.Partner(name)
	if !ok {
		return nil, &usageError{fmt.Errorf("partner %q is not in region config %s", name, config)}
	}
	if !slices.Contains(p.Publishes, events.TypeSignaal) || len(p.Sources) == 0 {
		return nil, &usageError{fmt.Errorf("partner %s does not publish signalen in region config %s; pick one that does", name, config)}
	}
	return p, nil
}

// bench is one run: the requests and what came back.
type bench struct {
	url, token, source, bsn, run string
	client                       *http.Client

	mu        sync.Mutex
	res       benchResult
	latencies []time.Duration
}

// send posts events until opts.duration has passed or ctx ends. Event i
// is due at i/rate after the start; a worker posts it as soon as one is
// free, and its latency counts from when it was due.
func (b *bench) send(ctx context.Context, opts benchOptions) {
	type job struct {
		n   int
		due time.Time
	}
	jobs := make(chan job)
	var wg sync.WaitGroup
	for range opts.concurrency {
		wg.Go(func() {
			for j := range jobs {
				b.post(ctx, j.n, j.due)
			}
		})
	}
	start := time.Now()
	end := start.Add(opts.duration)
	timer := time.NewTimer(0)
	defer timer.Stop()
loop:
	for n := 0; ; n++ {
		due := time.Now()
		if opts.rate > 0 {
			due = start.Add(time.Duration(float64(n) / opts.rate * float64(time.Second)))
			timer.Reset(time.Until(due))
			select {
			case <-timer.C:
			case <-ctx.Done():
				break loop
			}
		}
		if !due.Before(end) || time.Now().After(end) {
			break // a gateway slower than --rate does not stretch the run
		}
		select {
		case jobs <- job{n, due}:
		case <-ctx.Done():
			break loop
		}
	}
	close(jobs)
	wg.Wait()
	b.res.Seconds = time.Since(start).Seconds()
}

// post sends event n and records the answer.
func (b *bench) post(ctx context.Context, n int, due time.Time) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.url, bytes.NewReader(b.event(n)))
	if err != nil {
		b.record(0, 0, fmt.Sprintf("--gateway: %v", err))
		return
	}
	req.Header.Set("Content-Type", events.ContentTypeStructured)
	req.Header.Set("Authorization", "Bearer "+b.token)
	resp, err := b.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return // stopped: not a measurement
		}
		b.record(0, 0, fmt.Sprintf("the gateway at %s cannot be reached: %v (pass --gateway)", b.url, errors.Unwrap(err)))
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	reason := ""
	switch resp.StatusCode {
	case http.StatusAccepted:
	case http.StatusTooManyRequests:
		reason = fmt.Sprintf("429 Too Many Requests: --rate is above the gateway's rate_limit for %s", b.res.Partner)
	case http.StatusUnauthorized:
		reason = "401 Unauthorized: the token is not the partner's; check --token-env"
	default:
		reason = resp.Status
	}
	b.record(resp.StatusCode, time.Since(due), reason)
}

// event returns signaal n of the run, a structured CloudEvent.
func (b *bench) event(n int) []byte {
	body, _ := json.Marshal(map[string]any{
		"specversion": "1.0", "id": "bench-" + b.run + "-" + strconv.Itoa(n), "source": b.source,
		"type": events.TypeSignaal, "time": time.Now().UTC().Format(time.RFC3339Nano), "datacontenttype": "application/json",
		"data": map[string]any{"bsn": b.bsn, "categorie": "anders", "urgentie": "laag",
			"toelichting": "ketenbus bench", "contactpersoon": map[string]any{"naam": "ketenbus bench"}},
	})
	return body
}

func (b *bench) record(status int, latency time.Duration, reason string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.res.Sent++
	key := "none"
	if status != 0 {
		key = strconv.Itoa(status)
	}
	b.res.Status[key]++
	if status == http.StatusAccepted {
		b.latencies = append(b.latencies, latency)
	}
	if reason != "" && len(b.res.Errors) < maxBenchErrors && !slices.Contains(b.res.Errors, reason) {
		b.res.Errors = append(b.res.Errors, reason)
	}
}

// result returns the run's figures.
func (b *bench) result() benchResult {
	res := b.res
	if res.Seconds > 0 {
		res.PerSecond = float64(res.Sent) / res.Seconds
	}
	if len(b.latencies) > 0 {
		l := b.latencies
		slices.Sort(l)
		at := func(q float64) float64 { return ms(l[min(len(l)-1, int(q*float64(len(l))))]) }
		res.LatencyMS = &benchLatency{P50: at(0.50), P90: at(0.90), P99: at(0.99), Max: ms(l[len(l)-1])}
	}
	return res
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// finishBench prints res and returns nil when the gateway accepted every
// event, else an *exitError with code 1.
func finishBench(out io.Writer, res benchResult, asJSON bool) error {
	if asJSON {
		if err := json.NewEncoder(out).Encode(res); err != nil {
			return err
		}
	} else {
		rate := "as fast as possible"
		if res.Rate > 0 {
			rate = fmt.Sprintf("at %g/s", res.Rate)
		}
		fmt.Fprintf(out, "bench: signalen to %s as %s %s, %d at a time\n", res.Gateway, res.Partner, rate, res.Concurrency)
		fmt.Fprintf(out, "sent %d in %.1fs (%.1f/s)\n", res.Sent, res.Seconds, res.PerSecond)
		statuses := make([]string, 0, len(res.Status))
		for s := range res.Status {
			statuses = append(statuses, s)
		}
		sort.Strings(statuses)
		for _, s := range statuses {
			name := "no answer"
			if code, err := strconv.Atoi(s); err == nil {
				name = fmt.Sprintf("%d %s", code, http.StatusText(code))
			}
			fmt.Fprintf(out, "  %-24s %d\n", name, res.Status[s])
		}
		if l := res.LatencyMS; l != nil {
			fmt.Fprintf(out, "accepted in: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms\n", l.P50, l.P90, l.P99, l.Max)
		}
		for _, e := range res.Errors {
			fmt.Fprintf(out, "refused or failed: %s\n", e)
		}
	}
	if res.Sent > 0 && res.Status[strconv.Itoa(http.StatusAccepted)] == res.Sent {
		return nil
	}
	return &exitError{code: 1}
}
