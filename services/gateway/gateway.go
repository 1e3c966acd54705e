package gateway

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"mime"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel/trace"
	"golang.org/x/time/rate"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/shared/fieldcrypt"
	"github.com/ketenbus/ketenbus/services/shared/httpserve"
	"github.com/ketenbus/ketenbus/services/shared/region"
	"github.com/ketenbus/ketenbus/services/shared/telemetry"
)

// Gateway is the ingest gateway, an http.Handler. It is safe for
// concurrent use.
type Gateway struct {
	cfg      Config
	catalog  *events.Catalog
	pseudo   *events.Pseudonymizer
	fields   *fieldcrypt.Keys // seals sensitive data fields
	auth     *authenticator
	tls      *tls.Config // nil: plain HTTP
	limiters map[string]*rate.Limiter
	metrics  *metrics
	mux      *http.ServeMux
	tracer   trace.Tracer // nil: not tracing
}

// New returns a Gateway for cfg, after applying defaults and validating it.
// When the region sets gateway.tls, New loads its certificate, key and
// client CAs (see TLSConfig) and fails when they cannot be loaded.
func New(cfg Config) (*Gateway, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	pseudo, err := events.NewPseudonymizer(cfg.Secrets.PseudonymKey)
	if err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	fields, err := fieldcrypt.New(cfg.Secrets.EncryptionKeys)
	if err != nil {
		return nil, fmt.Errorf("gateway: encryption_key_env: %w", err)
	}
	auth, err := newAuthenticator(cfg.Region, cfg.Secrets)
	if err != nil {
		return nil, err
	}
	var tlsConfig *tls.Config
	if t := cfg.Region.Gateway.TLS; t != nil {
		if tlsConfig, err = TLSConfig(*t); err != nil {
			return nil, err
		}
	}
	g := &Gateway{
		fields:   fields,
		cfg:      cfg,
		catalog:  events.Default(),
		pseudo:   pseudo,
		auth:     auth,
		tls:      tlsConfig,
		limiters: map[string]*rate.Limiter{},
		metrics:  newMetrics(cfg.Metrics),
		mux:      http.NewServeMux(),
		tracer:   telemetry.Tracer(cfg.TracerProvider, "gateway"),
	}
	for i := range cfg.Region.Partners {
		p := &cfg.Region.Partners[i]
		g.limiters[p.ID] = rate.NewLimiter(rate.Limit(p.RateLimit.PerSecond), p.RateLimit.Burst)
	}
	g.mux.HandleFunc("POST /v1/events", g.handleEvents)
	g.mux.HandleFunc("/v1/events", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", "POST")
		problem(http.StatusMethodNotAllowed, "method-not-allowed", "Method not allowed",
			"POST events to /v1/events").write(w)
	})
	g.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok\n")
	})
	g.mux.HandleFunc("GET /readyz", g.handleReady)
	// The metrics name every partner and its volumes: the process serves
	// them on a listener of its own (ketenbus-gateway --metrics-addr),
	// never on the port partners reach, where /metrics is an unknown path.
	g.mux.HandleFunc("/", g.handleUnknown)
	return g, nil
}

// Close stops what the gateway runs in the background, the batch workers
// of its store, and returns once they stopped. Call it after the HTTP
// server stopped; requests after Close are answered 503. It is safe to
// call more than once.
func (g *Gateway) Close() {
	if c, ok := g.cfg.Store.(interface{ Close() }); ok {
		c.Close()
	}
}

// ServeHTTP serves /v1/events, /healthz and /readyz. It answers /metrics
// with a 404 problem: the metrics are not for partners (see
// Config.Metrics).
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) { g.mux.ServeHTTP(w, r) }

// Run serves the gateway on cfg.Addr until ctx ends, then shuts down
// gracefully, letting requests in flight finish. It serves HTTPS when the
// region sets gateway.tls, else plain HTTP.
func Run(ctx context.Context, cfg Config) error {
	g, err := New(cfg)
	if err != nil {
		return err
	}
	defer g.Close()
	srv := g.Server()
	ln, err := net.Listen("tcp", srv.Addr)
	if err != nil {
		return fmt.Errorf("gateway on %s: %w", srv.Addr, err)
	}
	return httpserve.Serve(ctx, srv, ln)
}

// Server returns an http.Server for the gateway on cfg.Addr, with the
// header size limit and the timeouts against slow clients of the region's
// gateway keys (max_header_bytes, read_header_timeout, read_timeout,
// write_timeout, idle_timeout; the region defaults where one is zero).
//
// When the region sets gateway.tls, the server's TLSConfig holds the
// certificate and client CAs: serve it with ServeTLS(ln, "", "") or
// ListenAndServeTLS("", ""), not Serve. Each call returns a new server.
func (g *Gateway) Server() *http.Server {
	lim := g.cfg.Region.Gateway
	srv := &http.Server{
		Addr:              g.cfg.Addr,
		Handler:           g,
		ReadHeaderTimeout: orDefault(lim.ReadHeaderTimeout, region.DefaultReadHeaderTimeout),
		ReadTimeout:       orDefault(lim.ReadTimeout, region.DefaultReadTimeout),
		WriteTimeout:      orDefault(lim.WriteTimeout, region.DefaultWriteTimeout),
		IdleTimeout:       orDefault(lim.IdleTimeout, region.DefaultIdleTimeout),
		MaxHeaderBytes:    orDefault(lim.MaxHeaderBytes, region.DefaultGatewayMaxHeaderBytes),
		ErrorLog:          slog.NewLogLogger(g.cfg.Logger.Handler(), slog.LevelWarn),
	}
	if g.tls != nil {
		srv.TLSConfig = g.tls.Clone()
	}
	return srv
}

// orDefault returns v, or def when v is zero: a region config built in
// code rather than by region.Load may leave the keys zero, and a zero
// http.Server timeout means none at all.
func orDefault[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// handleUnknown answers a path the gateway does not serve (404) or a
// method its path does not take (405, with Allow) as an RFC 9457 problem,
// as every other refusal.
func (g *Gateway) handleUnknown(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := g.mux.Handler(probe); pattern != "/" && pattern != "" {
			allow = append(allow, m)
		}
	}
	if len(allow) == 0 {
		problem(http.StatusNotFound, "not-found", "Not found",
			"the gateway has no such path; partners POST their events to /v1/events").write(w)
		return
	}
	w.Header().Set("Allow", strings.Join(allow, ", "))
	problem(http.StatusMethodNotAllowed, "method-not-allowed", "Method not allowed",
		fmt.Sprintf("this path takes %s", strings.Join(allow, ", "))).write(w)
}

func (g *Gateway) handleReady(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if _, err := g.cfg.JetStream.Stream(ctx, events.StreamEvents); err != nil {
		p := problem(http.StatusServiceUnavailable, "unavailable", "Not ready", "JetStream stream EVENTS is not reachable")
		p.retryAfter = g.cfg.RetryAfter
		p.write(w)
		return
	}
	_, _ = io.WriteString(w, "ready\n")
}

// accepted is the answer for one stored event.
type accepted struct {
	ID        string `json:"id"`
	Sequence  uint64 `json:"sequence"`
	Duplicate bool   `json:"duplicate,omitempty"`
}

func (g *Gateway) handleEvents(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	r, span := g.startRequest(r, start)
	mode, partnerID, res, p := g.ingest(r, start)
	if p != nil {
		g.metrics.refusals.WithLabelValues(p.reason).Inc()
		g.cfg.Logger.LogAttrs(r.Context(), levelFor(p.Status), "request refused",
			slog.Int("status", p.Status), slog.String("reason", p.reason),
			slog.String("partner", partnerID), slog.Int("violations", len(p.Errors)))
		p.write(w)
		endRequest(span, partnerID, p.Status, p)
		return
	}
	g.metrics.duration.WithLabelValues(mode).Observe(time.Since(start).Seconds())
	var answer any = res[0]
	if mode == "batch" {
		answer = res
	}
	b, _ := json.Marshal(answer)
	b = append(b, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusAccepted)
	_, _ = w.Write(b)
	endRequest(span, partnerID, http.StatusAccepted, nil)
}

func levelFor(status int) slog.Level {
	if status >= 500 {
		return slog.LevelWarn
	}
	return slog.LevelInfo
}

// ingest runs one request, begun at start: authenticate, read, parse,
// authorise, trace, enrich, store. It returns the answers or the problem
// to send.
func (g *Gateway) ingest(r *http.Request, start time.Time) (mode, partnerID string, _ []accepted, refused *Problem) {
	partner, who, authProblem := g.auth.authenticate(r)
	if authProblem != nil {
		return "", who, nil, authProblem
	}
	partnerID = partner.ID
	lim := g.limiters[partner.ID]
	if lim.TokensAt(g.cfg.Now()) < 1 {
		return "", partnerID, nil, g.rateLimited(lim, 1)
	}

	mode, p := requestMode(r)
	if p != nil {
		return "", partnerID, nil, p
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, g.cfg.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return "", partnerID, nil, problem(http.StatusRequestEntityTooLarge, "too-large", "Body too large",
				fmt.Sprintf("the body is larger than %d bytes; send fewer events per batch", g.cfg.MaxBodyBytes))
		}
		return "", partnerID, nil, problem(http.StatusBadRequest, "unreadable", "Body unreadable", "the request body could not be read completely")
	}

	var parsed []*events.Parsed
	switch mode {
	case "structured":
		one, err := g.catalog.ParseStructured(body)
		if err != nil {
			return "", partnerID, nil, invalid(err)
		}
		parsed = []*events.Parsed{one}
	case "binary":
		structured, p := binaryToStructured(r.Header, body)
		if p != nil {
			return "", partnerID, nil, p
		}
		one, err := g.catalog.ParseStructured(structured)
		if err != nil {
			return "", partnerID, nil, invalid(err)
		}
		parsed = []*events.Parsed{one}
	case "batch":
		parsed, err = g.catalog.ParseBatch(body)
		if err != nil {
			return "", partnerID, nil, invalid(err)
		}
		if len(parsed) > g.cfg.MaxBatchEvents {
			return "", partnerID, nil, problem(http.StatusRequestEntityTooLarge, "too-large", "Batch too large",
				fmt.Sprintf("a batch holds at most %d events, this one has %d; split it", g.cfg.MaxBatchEvents, len(parsed)))
		}
	}

	if p := g.authorise(partner, parsed, mode == "batch"); p != nil {
		return "", partnerID, nil, p
	}
	first, p := firstOccurrences(parsed)
	if p != nil {
		return "", partnerID, nil, p
	}
	spans := g.traceEvents(r, partner.ID, parsed, start)
	defer func() {
		if refused != nil {
			spans.refused(refused)
		}
	}()
	records, p := g.enrich(partner, parsed, mode == "batch")
	if p != nil {
		return "", partnerID, nil, p
	}

	now := g.cfg.Now()
	res := lim.ReserveN(now, len(parsed))
	if !res.OK() {
		return "", partnerID, nil, problem(http.StatusTooManyRequests, "rate-limited", "Too many events",
			fmt.Sprintf("this batch has %d events, more than the %d your rate limit allows at once; split it", len(parsed), lim.Burst()))
	}
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return "", partnerID, nil, g.rateLimited(lim, len(parsed))
	}

	ctx, cancel := context.WithTimeout(r.Context(), g.cfg.PublishTimeout)
	defer cancel()
	acks, err := g.storeOnce(ctx, records, first)
	if err != nil {
		g.cfg.Logger.LogAttrs(r.Context(), slog.LevelWarn, "store events failed",
			slog.String("partner", partner.ID), slog.Int("events", len(records)), slog.String("error", err.Error()))
		p := problem(http.StatusServiceUnavailable, "unavailable", "Event store unavailable",
			"the events could not be stored and none of them was accepted; retry after the Retry-After seconds")
		p.retryAfter = g.cfg.RetryAfter
		return "", partnerID, nil, p
	}
	spans.stored(acks)
	out := make([]accepted, len(parsed))
	for i, pe := range parsed {
		out[i] = accepted{ID: pe.Event.ID(), Sequence: acks[i].Sequence, Duplicate: acks[i].Duplicate}
		result := "stored"
		if acks[i].Duplicate {
			result = "duplicate"
		}
		g.metrics.events.WithLabelValues(eventLabel(pe.Event.Type()), partner.ID, result).Inc()
	}
	return mode, partnerID, out, nil
}

// storeOnce stores the records whose event is the first of its source and
// id in the request (first[i] == i) and answers a repeat with the ack of
// its first, as a duplicate: JetStream would refuse an atomic batch that
// holds one message id twice.
func (g *Gateway) storeOnce(ctx context.Context, records []Record, first []int) ([]Ack, error) {
	repeated := false
	for i, j := range first {
		repeated = repeated || i != j
	}
	if !repeated {
		return g.cfg.Store.Store(ctx, records)
	}
	unique := make([]Record, 0, len(records))
	for i, r := range records {
		if first[i] == i {
			unique = append(unique, r)
		}
	}
	stored, err := g.cfg.Store.Store(ctx, unique)
	if err != nil || len(unique) == len(records) {
		return stored, err
	}
	acks := make([]Ack, len(records))
	at := map[int]Ack{}
	n := 0
	for i := range records {
		if first[i] == i {
			acks[i], at[i] = stored[n], stored[n]
			n++
			continue
		}
		acks[i] = Ack{Sequence: at[first[i]].Sequence, Duplicate: true}
	}
	return acks, nil
}

// firstOccurrences returns, for each event, the index of the first event of
// the request with the same source and id: i itself for the first. The same
// event twice is stored once; the same source and id with other content is
// a problem pointing at both, since an id names one event.
func firstOccurrences(parsed []*events.Parsed) ([]int, *Problem) {
	if len(parsed) == 1 {
		return []int{0}, nil
	}
	first := make([]int, len(parsed))
	seen := make(map[[2]string]int, len(parsed))
	var errs []events.Violation
	for i, pe := range parsed {
		key := [2]string{pe.Event.Source(), pe.Event.ID()}
		j, ok := seen[key]
		if !ok {
			seen[key], first[i] = i, i
			continue
		}
		first[i] = j
		if !sameEvent(parsed[j], pe) {
			detail := fmt.Sprintf("events %d and %d have the same source and id but differ; give each event its own id", j, i)
			errs = append(errs, events.Violation{Pointer: "/" + strconv.Itoa(j) + "/id", Detail: detail},
				events.Violation{Pointer: "/" + strconv.Itoa(i) + "/id", Detail: detail})
		}
	}
	if len(errs) == 0 {
		return first, nil
	}
	detail := errs[0].Detail
	if len(errs) > 2 {
		detail = "several events share a source and id with other content; see errors"
	}
	return nil, problem(http.StatusBadRequest, "invalid", "Invalid event", detail, errs...)
}

// sameEvent reports whether two parsed events have the same attributes and
// the same data, however the data's JSON was spaced or ordered.
func sameEvent(a, b *events.Parsed) bool {
	return reflect.DeepEqual(a.Event.Context, b.Event.Context) && reflect.DeepEqual(a.Data, b.Data)
}

func (g *Gateway) rateLimited(lim *rate.Limiter, n int) *Problem {
	p := problem(http.StatusTooManyRequests, "rate-limited", "Too many events",
		fmt.Sprintf("your rate limit is %g events per second (bursts of %d); retry after the Retry-After seconds", float64(lim.Limit()), lim.Burst()))
	need := float64(n) - lim.TokensAt(g.cfg.Now())
	wait := time.Second
	if lim.Limit() > 0 && need > 0 {
		wait = time.Duration(need / float64(lim.Limit()) * float64(time.Second))
	}
	p.retryAfter = max(wait, time.Second)
	return p
}

func invalid(err error) *Problem {
	var ve *events.ValidationError
	if errors.As(err, &ve) {
		detail := "the event is not valid; see errors"
		if len(ve.Violations) == 1 {
			detail = ve.Violations[0].Detail
		}
		return problem(http.StatusBadRequest, "invalid", "Invalid event", detail, ve.Violations...)
	}
	return problem(http.StatusBadRequest, "invalid", "Invalid event", "the event is not valid")
}

// requestMode tells binary, structured and batch mode apart by content
// type. A charset other than UTF-8 is refused in every mode: the CloudEvents
// JSON format is UTF-8, and a body in another charset would be read wrong.
func requestMode(r *http.Request) (string, *Problem) {
	ct := r.Header.Get("Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil {
		mt = ""
	}
	mode := ""
	switch {
	case mt == events.ContentTypeStructured:
		mode = "structured"
	case mt == events.ContentTypeBatch:
		mode = "batch"
	case r.Header.Get("ce-specversion") != "":
		if mt != events.ContentTypeJSON {
			return "", problem(http.StatusUnsupportedMediaType, "unsupported-media-type", "Unsupported media type",
				"in binary mode the body is the event data and its Content-Type must be application/json")
		}
		mode = "binary"
	default:
		return "", problem(http.StatusUnsupportedMediaType, "unsupported-media-type", "Unsupported media type",
			"send application/cloudevents+json (structured), application/cloudevents-batch+json (batch), or application/json with ce-* headers (binary)")
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return "", problem(http.StatusUnsupportedMediaType, "unsupported-media-type", "Unsupported charset",
			fmt.Sprintf("the body must be UTF-8: send Content-Type %s; charset=utf-8, or no charset", mt))
	}
	return mode, nil
}

// binaryToStructured turns a binary-mode request into the structured form,
// so both modes pass the same parser and get the same messages. An
// attribute header sent more than once (ce-id twice, or ce-id and Ce-Id,
// which HTTP names alike), or one that does not decode to UTF-8, is a
// problem pointing at the attribute: picking one of two values would store
// what the sender may not have meant.
func binaryToStructured(h http.Header, body []byte) ([]byte, *Problem) {
	obj := map[string]any{}
	var errs []events.Violation
	for _, name := range slices.Sorted(maps.Keys(h)) {
		vals := h[name]
		lower := strings.ToLower(name)
		if !strings.HasPrefix(lower, "ce-") || len(vals) == 0 {
			continue
		}
		attr := strings.TrimPrefix(lower, "ce-")
		ptr := "/" + strings.ReplaceAll(attr, "~", "~0") // a header name holds no slash
		if len(vals) > 1 {
			errs = append(errs, events.Violation{Pointer: ptr,
				Detail: fmt.Sprintf("the header %s appears %d times; send each attribute once", lower, len(vals))})
			continue
		}
		v := percentDecode(vals[0])
		if !utf8.ValidString(v) {
			errs = append(errs, events.Violation{Pointer: ptr,
				Detail: fmt.Sprintf("the header %s is not UTF-8 once percent-decoded; percent-encode the UTF-8 bytes of the value", lower)})
			continue
		}
		obj[attr] = v
	}
	if len(errs) > 0 {
		detail := errs[0].Detail
		if len(errs) > 1 {
			detail = "the ce- headers are not valid; see errors"
		}
		return nil, problem(http.StatusBadRequest, "invalid", "Invalid event", detail, errs...)
	}
	obj["datacontenttype"] = events.ContentTypeJSON
	if len(body) > 0 {
		obj["data"] = json.RawMessage(body)
		if !json.Valid(body) {
			obj["data"] = string(body) // reported as "data must be a JSON object"
		}
	}
	b, _ := json.Marshal(obj)
	return b, nil
}

// percentDecode decodes the %XX escapes of the CloudEvents HTTP binding;
// a value that is not well-formed is kept as it is.
func percentDecode(s string) string {
	if d, err := url.PathUnescape(s); err == nil {
		return d
	}
	return s
}
