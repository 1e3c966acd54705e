package partner

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/events/webhook"
)

// DefaultMaxBodyBytes is the largest request body a [Receiver] reads unless
// [ReceiverConfig.MaxBodyBytes] says otherwise.
const DefaultMaxBodyBytes = 1 << 20

// Headers of the abuse-protection handshake of the CNCF specification
// "HTTP 1.1 Web Hooks for Event Delivery", section 4.
const (
	HeaderRequestOrigin = "WebHook-Request-Origin"
	HeaderRequestRate   = "WebHook-Request-Rate"
	HeaderAllowedOrigin = "WebHook-Allowed-Origin"
	HeaderAllowedRate   = "WebHook-Allowed-Rate"
)

// ReceiverConfig configures a [Receiver]. Only Secrets and Handler are
// required.
type ReceiverConfig struct {
	// Secrets are the partner's webhook secrets ("whsec_…"), as ketenbus
	// gave them. During rotation list the new and the old one: a delivery
	// signed with either is accepted.
	Secrets []string
	// Token, when set, is the bearer token the partner configured at
	// ketenbus: every POST must carry "Authorization: Bearer <Token>". It is
	// compared in constant time.
	Token string
	// AllowedOrigins lists the origins (host names, such as
	// "ketenbus.regio-groningen.nl") from which the receiver accepts
	// deliveries in the CNCF OPTIONS handshake, compared without regard to
	// case. "*" allows any origin. Empty allows any origin too, since the
	// signature already proves who sends; list origins to refuse an unknown
	// ketenbus installation before it sends anything.
	AllowedOrigins []string
	// AllowedRate is the number of requests per minute the receiver allows,
	// answered in WebHook-Allowed-Rate; 0 answers "*" (no limit).
	AllowedRate int
	// Tolerance is how far webhook-timestamp may lie from the clock;
	// default webhook.DefaultTolerance (five minutes).
	Tolerance time.Duration
	// Handler processes each event. Required.
	Handler HandlerFunc
	// MaxBodyBytes is the largest body read; a larger one is answered 413.
	// Default DefaultMaxBodyBytes (1 MiB).
	MaxBodyBytes int64
	// Logger receives one record per refused or failed delivery; nil logs
	// nothing. Records never hold a secret, a token or event data.
	Logger *slog.Logger
	// Idempotency, when set, deduplicates deliveries on webhook-id, the
	// delivery id ([Delivery.ID]): a delivery already processed is
	// answered 200 without calling Handler.
	Idempotency Store
}

func (c *ReceiverConfig) setDefaults() {
	if c.Tolerance == 0 {
		c.Tolerance = webhook.DefaultTolerance
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.Logger == nil {
		c.Logger = discardLogger()
	}
}

// Validate reports every problem of the config in one error that wraps
// [ErrInvalidConfig] and names the fields. It never repeats a secret or the
// token.
func (c ReceiverConfig) Validate() error {
	var errs configErrors
	if len(c.Secrets) == 0 {
		errs.add("ReceiverConfig.Secrets is missing")
	}
	for i, s := range c.Secrets {
		if _, err := webhook.ParseSecret(s); err != nil {
			errs.add("ReceiverConfig.Secrets[%d]: %v", i, err)
		}
	}
	if c.Token != "" && strings.TrimSpace(c.Token) != c.Token {
		errs.add("ReceiverConfig.Token has leading or trailing white space")
	}
	for i, o := range c.AllowedOrigins {
		if strings.TrimSpace(o) == "" {
			errs.add("ReceiverConfig.AllowedOrigins[%d] is empty", i)
		}
	}
	if c.AllowedRate < 0 {
		errs.add("ReceiverConfig.AllowedRate is negative")
	}
	if c.Tolerance < 0 {
		errs.add("ReceiverConfig.Tolerance is negative")
	}
	if c.Handler == nil {
		errs.add("ReceiverConfig.Handler is missing")
	}
	if c.MaxBodyBytes < 0 {
		errs.add("ReceiverConfig.MaxBodyBytes is negative")
	}
	return errs.err()
}

// Receiver is an [http.Handler] that receives ketenbus webhook deliveries
// and passes each event to a [HandlerFunc]. It is safe for concurrent use;
// the handler is called concurrently for concurrent requests.
//
// OPTIONS answers the CNCF abuse-protection handshake: 200 with
// WebHook-Allowed-Origin (the requested origin) and Allow: POST when the
// origin is allowed, else 403. POST is checked and answered in this order:
//
//   - 401 when Token is set and Authorization does not carry it;
//   - 413 when the body exceeds MaxBodyBytes;
//   - 401 when the Standard Webhooks signature or timestamp does not verify;
//   - 415 when the request is neither a structured-mode CloudEvent
//     (application/cloudevents+json) nor a binary-mode one (ce-* headers),
//     400 when it is not a valid CloudEvent;
//   - 200 when the Idempotency store has seen webhook-id (the delivery id,
//     see [Delivery.ID]) already; the handler is not called;
//   - otherwise the handler's result: nil 204; [ErrRetry] 503 with
//     Retry-After; [ErrReject] 400; [ErrGone] 410; any other error or a
//     panic 500.
//
// ketenbus retries 500 and 503 and sends 400, 401, 413 and 415 to its dead
// letter queue at once. Other methods get 405. Every refusal has an RFC 9457
// problem+json body whose detail says what was wrong; it never contains a
// secret or the token.
type Receiver struct {
	cfg        ReceiverConfig
	verifier   *webhook.Verifier
	tokenHash  [sha256.Size]byte
	anyOrigin  bool
	origins    map[string]bool
	dispatcher dispatcher
}

var _ http.Handler = (*Receiver)(nil)

// NewReceiver returns a Receiver for cfg after filling in defaults. It
// returns an error wrapping [ErrInvalidConfig] when cfg is not valid.
func NewReceiver(cfg ReceiverConfig) (*Receiver, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	v, err := webhook.NewVerifier(cfg.Secrets, webhook.WithTolerance(cfg.Tolerance))
	if err != nil {
		return nil, fmt.Errorf("%w: ReceiverConfig.Secrets: %v", ErrInvalidConfig, err)
	}
	r := &Receiver{
		cfg:        cfg,
		verifier:   v,
		origins:    make(map[string]bool, len(cfg.AllowedOrigins)),
		anyOrigin:  len(cfg.AllowedOrigins) == 0,
		dispatcher: dispatcher{handler: cfg.Handler, store: cfg.Idempotency, logger: cfg.Logger},
	}
	if cfg.Token != "" {
		r.tokenHash = sha256.Sum256([]byte(cfg.Token))
	}
	for _, o := range cfg.AllowedOrigins {
		o = strings.ToLower(strings.TrimSpace(o))
		r.origins[o] = true
		if o == "*" {
			r.anyOrigin = true
		}
	}
	return r, nil
}

// ServeHTTP handles one request as described at [Receiver].
func (rc *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodPost:
		rc.receive(w, r)
	case http.MethodOptions:
		rc.handshake(w, r)
	default:
		w.Header().Set("Allow", "OPTIONS, POST")
		rc.refuse(w, r, newProblem(http.StatusMethodNotAllowed, ProblemMethodNotAllowed, "Method not allowed",
			r.Method+" is not supported; ketenbus delivers with POST"))
	}
}

// handshake answers the CNCF abuse-protection validation request.
func (rc *Receiver) handshake(w http.ResponseWriter, r *http.Request) {
	origin := strings.TrimSpace(r.Header.Get(HeaderRequestOrigin))
	if origin == "" {
		w.Header().Set("Allow", "OPTIONS, POST")
		w.WriteHeader(http.StatusOK)
		return
	}
	if !rc.anyOrigin && !rc.origins[strings.ToLower(origin)] {
		rc.refuse(w, r, newProblem(http.StatusForbidden, ProblemOriginNotAllowed, "Origin not allowed",
			fmt.Sprintf("%s %q is not among the allowed origins", HeaderRequestOrigin, origin)))
		return
	}
	h := w.Header()
	h.Set(HeaderAllowedOrigin, origin)
	h.Set("Allow", "POST")
	if rc.cfg.AllowedRate > 0 {
		h.Set(HeaderAllowedRate, strconv.Itoa(rc.cfg.AllowedRate))
	} else {
		h.Set(HeaderAllowedRate, "*")
	}
	w.WriteHeader(http.StatusOK)
}

func (rc *Receiver) receive(w http.ResponseWriter, r *http.Request) {
	if rc.cfg.Token != "" && !rc.tokenOK(r.Header.Get("Authorization")) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="ketenbus"`)
		rc.refuse(w, r, newProblem(http.StatusUnauthorized, ProblemUnauthorized, "Unauthorized",
			"Authorization does not carry the expected bearer token"))
		return
	}
	body, p := rc.readBody(w, r)
	if p != nil {
		rc.refuse(w, r, p)
		return
	}
	if err := rc.verifier.Verify(r.Header, body); err != nil {
		rc.refuse(w, r, newProblem(http.StatusUnauthorized, ProblemInvalidSignature, "Invalid webhook signature", err.Error()))
		return
	}
	e, p := parseEvent(r.Header, body)
	if p != nil {
		rc.refuse(w, r, p)
		return
	}
	// webhook-id is the delivery id, not the event id; the signature
	// covers it, so it needs no other check.
	id := r.Header.Get(webhook.HeaderID)
	d := Delivery{ID: id, Subscription: r.Header.Get(HeaderSubscription), Header: deliveryHeader(r.Header)}
	if secs, err := strconv.ParseInt(r.Header.Get(webhook.HeaderTimestamp), 10, 64); err == nil {
		d.Timestamp = time.Unix(secs, 0)
	}
	d.Sequence, _ = Sequence(*e)
	traceFrom(&d, *e)
	ctx := withDelivery(r.Context(), d)

	out, after, err := rc.dispatcher.dispatch(ctx, id, *e)
	log := rc.cfg.Logger.With(logID(id), slog.String("type", e.Type()), slog.Uint64("sequence", d.Sequence))
	switch out {
	case outcomeDone:
		w.WriteHeader(http.StatusNoContent)
	case outcomeDuplicate:
		log.InfoContext(ctx, "duplicate delivery, handler not called")
		w.WriteHeader(http.StatusOK)
	case outcomeRetry:
		log.InfoContext(ctx, "handler asked for a retry", slog.Duration("after", after), slog.Any("error", err))
		p := newProblem(http.StatusServiceUnavailable, ProblemRetry, "Retry later", "the handler asked for a later delivery")
		p.retryAfter = after
		p.write(w)
	case outcomeReject:
		log.WarnContext(ctx, "handler rejected the event", slog.Any("error", err))
		newProblem(http.StatusBadRequest, ProblemRejected, "Event rejected", err.Error()).write(w)
	case outcomeGone:
		log.WarnContext(ctx, "handler ended the subscription", slog.Any("error", err))
		newProblem(http.StatusGone, ProblemGone, "Subscription gone", err.Error()).write(w)
	default:
		log.ErrorContext(ctx, "handler failed", slog.Any("error", err))
		newProblem(http.StatusInternalServerError, ProblemHandlerFailed, "Handler failed",
			"the event could not be processed now; deliver it again").write(w)
	}
}

// tokenOK compares the bearer token of an Authorization header value with
// the configured one in constant time (hashes of equal length, so not even
// the token's length leaks).
func (rc *Receiver) tokenOK(authorization string) bool {
	scheme, token, ok := strings.Cut(strings.TrimSpace(authorization), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(token)))
	return subtle.ConstantTimeCompare(got[:], rc.tokenHash[:]) == 1
}

func (rc *Receiver) readBody(w http.ResponseWriter, r *http.Request) ([]byte, *problem) {
	tooLarge := newProblem(http.StatusRequestEntityTooLarge, ProblemBodyTooLarge, "Body too large",
		fmt.Sprintf("the body exceeds %d bytes", rc.cfg.MaxBodyBytes))
	if r.ContentLength > rc.cfg.MaxBodyBytes {
		return nil, tooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, rc.cfg.MaxBodyBytes))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, tooLarge
		}
		return nil, newProblem(http.StatusBadRequest, ProblemUnreadableBody, "Body unreadable", "reading the body failed")
	}
	return body, nil
}

// refuse logs why a request was refused and writes p.
func (rc *Receiver) refuse(w http.ResponseWriter, r *http.Request, p *problem) {
	rc.cfg.Logger.WarnContext(r.Context(), "delivery refused",
		// The detail may quote ids or parse errors of the sender's input.
		slog.Int("status", p.Status), slog.String("reason", p.reason), slog.String("detail", events.RedactBSNs(p.Detail)),
		slog.String("method", r.Method), logID(r.Header.Get(webhook.HeaderID)))
	p.write(w)
}

// parseEvent decodes a structured-mode or binary-mode CloudEvent. It checks
// the CloudEvents context attributes only: delivered data may be reduced to
// the subscription's allowed fields, so it is not validated against the
// catalog's schemas.
func parseEvent(h http.Header, body []byte) (*event.Event, *problem) {
	ct := h.Get("Content-Type")
	mediaType := ""
	if ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil {
			return nil, newProblem(http.StatusUnsupportedMediaType, ProblemUnsupportedMediaType, "Unsupported media type",
				fmt.Sprintf("Content-Type %q cannot be parsed", ct))
		}
		mediaType = mt
	}
	var e *event.Event
	switch {
	case mediaType == events.ContentTypeStructured:
		e = new(event.Event)
		if err := json.Unmarshal(body, e); err != nil {
			return nil, newProblem(http.StatusBadRequest, ProblemInvalidEvent, "Invalid CloudEvent",
				"the body is not a structured CloudEvent: "+err.Error())
		}
	case mediaType == events.ContentTypeBatch:
		return nil, newProblem(http.StatusUnsupportedMediaType, ProblemUnsupportedMediaType, "Unsupported media type",
			"batched mode is not supported; deliver one event per request")
	case h.Get("ce-specversion") != "":
		got, err := binaryEvent(h, body)
		if err != nil {
			return nil, newProblem(http.StatusBadRequest, ProblemInvalidEvent, "Invalid CloudEvent",
				"the request is not a binary-mode CloudEvent: "+err.Error())
		}
		e = got
	default:
		return nil, newProblem(http.StatusUnsupportedMediaType, ProblemUnsupportedMediaType, "Unsupported media type",
			fmt.Sprintf("Content-Type %q is not %s and there is no ce-specversion header for binary mode", ct, events.ContentTypeStructured))
	}
	if err := e.Validate(); err != nil {
		return nil, newProblem(http.StatusBadRequest, ProblemInvalidEvent, "Invalid CloudEvent", err.Error())
	}
	return e, nil
}

// deliveryHeader copies h without the credentials it carries.
func deliveryHeader(h http.Header) http.Header {
	c := h.Clone()
	c.Del("Authorization")
	c.Del("Cookie")
	c.Del(webhook.HeaderSignature)
	return c
}

// problem is an RFC 9457 problem details answer.
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`

	reason     string
	retryAfter time.Duration
}

// ContentTypeProblem is the media type of the Receiver's error answers.
const ContentTypeProblem = "application/problem+json"

// newProblem returns the problem of type typ (one of the Problem*
// constants); its reason, for the log, is the type without
// ProblemTypePrefix.
func newProblem(status int, typ, title, detail string) *problem {
	return &problem{Type: typ, Title: title, Status: status, Detail: detail, reason: strings.TrimPrefix(typ, ProblemTypePrefix)}
}

func (p *problem) write(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", ContentTypeProblem)
	h.Set("Cache-Control", "no-store")
	if p.retryAfter > 0 {
		h.Set("Retry-After", strconv.FormatInt(int64((p.retryAfter+time.Second-1)/time.Second), 10))
	}
	w.WriteHeader(p.Status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(p)
}
