package webhookout

import "net/http"

// Action is what a delivery does after an answer.
type Action int

const (
	// DeadLetter: to the DLQ at once; sending again cannot help.
	DeadLetter Action = iota
	// Delivered: the partner took the event; the delivery is acked.
	Delivered
	// Retry: sent again later, by the retry schedule (and the answer's
	// Retry-After when Outcome.HonorRetryAfter).
	Retry
	// Retire: the subscription is retired (410 Gone) and the delivery goes
	// to the DLQ.
	Retire
)

// String names the action as the adapter's table does.
func (a Action) String() string {
	switch a {
	case Delivered:
		return "delivered"
	case Retry:
		return "retry"
	case Retire:
		return "retire"
	default:
		return "dead letter"
	}
}

// Health is what an answer says about the endpoint, for a circuit breaker.
type Health int

const (
	// HealthUnknown: the attempt says nothing about the endpoint (a local
	// failure; nothing was sent). It never counts against a breaker.
	HealthUnknown Health = iota
	// HealthUp: the endpoint answered (2xx, or a status that is no
	// overload).
	HealthUp
	// HealthDown: 5xx, 429, a timeout or a connection error: a failure a
	// breaker counts.
	HealthDown
)

// Outcome is what an [Answer] means for a delivery; see [Classify].
type Outcome struct {
	// Action is what the delivery does next.
	Action Action
	// Health is what the answer says about the endpoint.
	Health Health
	// HonorRetryAfter is true when the answer's RetryAfter sets the wait
	// (429 and 503), no sooner than the schedule's step.
	HonorRetryAfter bool
}

// Classify returns what answer a means for a delivery. It is the table of
// the adapter's package documentation ("Outcomes"), which a test checks
// row by row:
//
//	answer                                   action       breaker  Retry-After
//	local failure (nothing sent)             dead letter  unknown  no
//	2xx                                      delivered    up       no
//	429, 503                                 retry        down     yes
//	other 5xx                                retry        down     no
//	no answer (timeout, connection error)    retry        down     no
//	410                                      retire       up       no
//	other 4xx, 1xx, 3xx                      dead letter  up       no
//
// It is pure: no I/O, no clock.
func Classify(a Answer) Outcome {
	s := a.Status
	switch {
	case a.Local != "":
		return Outcome{Action: DeadLetter, Health: HealthUnknown}
	case s >= 200 && s <= 299:
		return Outcome{Action: Delivered, Health: HealthUp}
	case s == http.StatusTooManyRequests || s == http.StatusServiceUnavailable:
		return Outcome{Action: Retry, Health: HealthDown, HonorRetryAfter: true}
	case s == 0 || s >= 500:
		return Outcome{Action: Retry, Health: HealthDown}
	case s == http.StatusGone:
		return Outcome{Action: Retire, Health: HealthUp}
	default:
		return Outcome{Action: DeadLetter, Health: HealthUp}
	}
}
