package partner

import (
	"errors"
	"fmt"
	"time"
)

// Errors of this package, to be matched with [errors.Is].
//
// ErrRetry, ErrReject and ErrGone are what a [HandlerFunc] returns, through
// [Retry], [RetryAfter], [Reject] and [Gone], to tell ketenbus what to do with
// an event it could not take; see [Receiver] and [Consume] for how each is
// answered.
var (
	// ErrRetry means: the event is fine, but it cannot be taken now; deliver
	// it again later. A receiver answers 503 Service Unavailable with
	// Retry-After.
	ErrRetry = errors.New("partner: retry later")
	// ErrReject means: this event will never be taken, delivering it again
	// will not help. A receiver answers 400 Bad Request and ketenbus puts the
	// event in its dead letter queue at once, where operators see it.
	ErrReject = errors.New("partner: event rejected")
	// ErrGone means: stop delivering to this endpoint. A receiver answers
	// 410 Gone and ketenbus retires the subscription and raises an alert.
	ErrGone = errors.New("partner: subscription gone")
	// ErrInvalidConfig is wrapped by the errors of [ReceiverConfig.Validate]
	// and [ConsumeConfig.Validate].
	ErrInvalidConfig = errors.New("partner: invalid config")
)

// configErrors gathers the problems of a config, each wrapping
// [ErrInvalidConfig], so that Validate reports them all at once.
type configErrors []error

// add records one problem, formatted as by [fmt.Sprintf].
func (c *configErrors) add(format string, args ...any) {
	*c = append(*c, fmt.Errorf("%w: %s", ErrInvalidConfig, fmt.Sprintf(format, args...)))
}

// err joins the problems; nil when there are none.
func (c configErrors) err() error { return errors.Join(c...) }

// DefaultRetryAfter is the delay asked for by [Retry], and by [RetryAfter]
// with a delay of zero or less.
const DefaultRetryAfter = 30 * time.Second

// HandlerError is the error returned by [Retry], [RetryAfter], [Reject] and
// [Gone]. It matches its Kind and its cause Err with [errors.Is]; use
// [errors.As] to read the delay of a retry.
type HandlerError struct {
	// Kind is ErrRetry, ErrReject or ErrGone.
	Kind error
	// Err is the cause; it may be nil.
	Err error
	// After is how long ketenbus should wait before delivering the event
	// again. Only meaningful for ErrRetry; zero means DefaultRetryAfter.
	After time.Duration
}

// Error returns the text of Kind, followed by the text of Err if there is
// one.
func (e *HandlerError) Error() string {
	kind := "partner: handler error"
	if e.Kind != nil {
		kind = e.Kind.Error()
	}
	if e.Err == nil {
		return kind
	}
	return kind + ": " + e.Err.Error()
}

// Unwrap returns Kind and Err, so that errors.Is matches either.
func (e *HandlerError) Unwrap() []error {
	errs := make([]error, 0, 2)
	if e.Kind != nil {
		errs = append(errs, e.Kind)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

// Retry returns an error asking ketenbus to deliver the event again after
// [DefaultRetryAfter], for a temporary failure such as a database that is
// briefly down. err is the cause and may be nil.
func Retry(err error) error {
	return &HandlerError{Kind: ErrRetry, Err: err, After: DefaultRetryAfter}
}

// RetryAfter returns an error asking ketenbus to deliver the event again
// after d, which a receiver rounds up to whole seconds. A d of zero or less
// means [DefaultRetryAfter]. err is the cause and may be nil.
func RetryAfter(err error, d time.Duration) error {
	if d <= 0 {
		d = DefaultRetryAfter
	}
	return &HandlerError{Kind: ErrRetry, Err: err, After: d}
}

// Reject returns an error saying the event will never be processed, for
// example because it refers to a client the partner does not know. ketenbus
// moves it to the dead letter queue at once instead of retrying.
//
// The error text is sent back to ketenbus and kept with the dead letter, so
// it must say why without holding personal data such as a BSN or a name.
// err is the cause and may be nil.
func Reject(err error) error {
	return &HandlerError{Kind: ErrReject, Err: err}
}

// Gone returns an error saying the endpoint no longer takes these events:
// ketenbus retires the subscription. Use it when a service is
// decommissioned, not for a single bad event (use [Reject]). As with Reject,
// the error text is sent back and must hold no personal data. err is the
// cause and may be nil.
func Gone(err error) error {
	return &HandlerError{Kind: ErrGone, Err: err}
}

// outcome is what became of one delivered event.
type outcome int

const (
	outcomeDone      outcome = iota // handled
	outcomeDuplicate                // already handled before; handler not called
	outcomeRetry                    // ErrRetry
	outcomeReject                   // ErrReject
	outcomeGone                     // ErrGone
	outcomeFailed                   // any other error
)

// classify maps a handler's error to an outcome and, for a retry, its
// delay. The outermost HandlerError decides; a bare sentinel wrapped with
// fmt.Errorf works too.
func classify(err error) (outcome, time.Duration) {
	if err == nil {
		return outcomeDone, 0
	}
	var he *HandlerError
	kind := err
	after := time.Duration(0)
	if errors.As(err, &he) && he.Kind != nil {
		kind, after = he.Kind, he.After
	}
	switch {
	case errors.Is(kind, ErrGone):
		return outcomeGone, 0
	case errors.Is(kind, ErrReject):
		return outcomeReject, 0
	case errors.Is(kind, ErrRetry):
		if after <= 0 {
			after = DefaultRetryAfter
		}
		return outcomeRetry, after
	}
	return outcomeFailed, 0
}
