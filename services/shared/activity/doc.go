// Package activity is the delivery activity log: one small record per
// webhook delivery attempt and per circuit breaker change, which the
// adapter publishes on ketenbus.activity.<partner> and the monitor reads
// to show what happened at each partner in the last day.
//
// A record never holds personal data: no subject, no data field, no
// response body; only ids, types, statuses and times. The adapter
// publishes without waiting for JetStream (a lost record costs a line on
// a dashboard, never a delivery); the ACTIVITY stream keeps records for
// MaxAge.
package activity
