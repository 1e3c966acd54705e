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
// A level waits its after_working_days after the level before it actually
// fired. A term that passed long ago (an aanmelding logged weeks back, a
// term that ran out while the escalator was stopped) therefore escalates
// to the first level at once and climbs one level per after_working_days
// from then on: every level gets its days to act, and the top of the
// ladder never hears of a case in the same minute as the first. The
// escalatie's termijn still says when the term really ended. The dated
// levels of an overdracht (the acceptance term, the 18th birthday) keep
// their dates and are never earlier than that either.
//
// The same aanmelding or overdracht stored again (JetStream deduplicates a
// source and id only within the EVENTS duplicate window, 24 hours) changes
// nothing: a running term goes on as it was, and a term that a bevestiging
// ended or whose ladder ran out is remembered for as long as its event is
// kept, so it does not start again.
//
// Timers live in Redis (package timers), a projection of EVENTS with a
// marker that says it is complete (package projection). When Redis comes
// back without it (restarted empty, flushed, a failover to an empty
// replica) or without its last writes, the escalator notices by itself,
// at start, when Redis answers again and at every claim, and rebuilds the
// timers from EVENTS: one replica, under a lock, while the others wait;
// no timer fires and no event is applied until the timers are complete,
// and a level that fired (its escalatie is in EVENTS) does not fire
// again. `ketenbus timers rebuild` does the same on request. Each
// escalatie's id and Nats-Msg-Id
// derive from (timer, level, partner), so a replica that crashes after
// publishing and before its bookkeeping cannot double it. Input events are
// acked only after Redis stored their effect; while Redis is unreachable
// the escalator stops acking, reports not ready and catches up later.
package escalator
