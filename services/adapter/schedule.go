package adapter

import "time"

// schedule is a webhook's retry schedule: the wait before each retry.
type schedule []time.Duration

func (s schedule) total() time.Duration {
	var t time.Duration
	for _, d := range s {
		t += d
	}
	return t
}

// exhausted reports whether a delivery that failed on its attempt-th
// delivery, age after DELIVERY stored it, has had its whole schedule: more
// deliveries than steps, and at least the schedule's total time. See the
// package documentation for why both.
func (s schedule) exhausted(attempt int, age time.Duration) bool {
	return attempt > len(s) && age >= s.total()
}

// delay returns the wait before the next attempt after a failed
// attempt-th delivery at age. Within the schedule it is step attempt-1;
// when the count ran ahead of the requests (breaker naks, crash
// redeliveries) it is the time until the next cumulative step after age.
func (s schedule) delay(attempt int, age time.Duration) time.Duration {
	if attempt < 1 {
		attempt = 1
	}
	if attempt <= len(s) {
		return s[attempt-1]
	}
	var cum time.Duration
	for _, d := range s {
		cum += d
		if cum > age {
			return cum - age
		}
	}
	return s[len(s)-1]
}
