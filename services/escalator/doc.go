// Package escalator watches every response term and turns silence into
// escalaties, level by level.
//
// An aanmelding starts a term (reactietermijn in working days from its
// time, or uiterlijk); an overdracht-jeugd-wmo starts a reminder before
// the 18th birthday, an acceptance term, and the birthday itself. A
// bevestiging from the ontvanger stops the term (opgepakt, afgerond) or
// escalates at once (geweigerd); one that arrives before its event is
// remembered. When a term passes, an escalatie goes to each partner of
// the region's ladder level, and the ladder climbs after_working_days
// later, until the bevestiging arrives.
//
// Timers live in Redis (package timers), a projection of EVENTS that
// `ketenbus timers rebuild` recreates. Each escalatie's id and Nats-Msg-Id
// derive from (timer, level, partner), so a replica that crashes after
// publishing and before its bookkeeping cannot double it. Input events are
// acked only after Redis stored their effect; while Redis is unreachable
// the escalator stops acking, reports not ready and catches up later.
package escalator
