// Package samenloopindex keeps the samenloop index in Redis: per person (by keyed
// pseudonym, never a BSN) the active signalen of every partner, and which
// partners were told of each other.
//
// # What it decides
//
// Add records a signaal. When its partner is not yet in the person's
// samenloop and another partner has an active signaal on the person, the
// partner joins: the Outcome names it (Joined) and the partners it joins
// (Others), and the caller tells them. A partner already in the samenloop,
// or signalling alone, joins nothing. Adding the same signaal again
// returns the Outcome it had the first time, so a redelivered signaal
// produces the same samenloop events, which JetStream then drops.
//
// A signaal is active for Window after it was signalled; Add, Remove and
// Expire drop the ones whose window passed. Remove drops one early (a
// bevestiging afgerond from the signalling partner or the regievoerder).
// A partner without active signalen leaves the samenloop; when fewer than
// two partners remain, the samenloop ends, and a partner signalling again
// later joins anew.
//
// The index holds no data fields: a signaal is its key
// (events.MsgID(source, id)), its partner, when it was signalled and its
// EVENTS sequence. Whoever needs the signaal itself reads EVENTS.
//
// # Redis model
//
// With the default prefix P = "ketenbus:samenloop:":
//
//	P+"x:"+person     hash per person (32 raw pseudonym bytes): field =
//	                  signaal key as 16 raw bytes, value = partner NUL
//	                  signalled-at (Unix ms) NUL EVENTS sequence NUL the
//	                  partners it joined (comma-separated, empty if none);
//	                  field "m" = the samenloop's partners, in the order
//	                  of their first live signaal
//	P+"due"           sorted set: member = person (32 raw bytes), score =
//	                  when its oldest signaal leaves the window (Unix ms)
//	P+"s:"+hhhh       hash, one of 65,536 buckets named by the first two
//	                  key bytes in hex: field = the other 14 key bytes,
//	                  value = the person; finds a signaal for Remove
//	P+"gone:"+key     string with a TTL: a removal that came before its
//	                  signaal (events handled concurrently)
//	P+"projection"    hash: the marker that the index is complete, and up
//	                  to which EVENTS sequence (package projection)
//	P+"rebuild"       string with a TTL: the lock of a rebuild
//
// Every value stays within Redis's default hash-max-listpack-value (64
// bytes), so the hashes keep the compact listpack encoding.
// BenchmarkIndex measures the memory per signaal.
//
// The scripts touch keys they compute themselves (a person's hash, the
// buckets). A single Redis (with or without Sentinel) runs them as they
// are; on Redis Cluster, put every key in one slot with a hash-tagged
// prefix such as "{ketenbus:samenloop}:".
//
// # Projection
//
// The index is a projection of EVENTS (package projection). An Index from
// New writes unguarded, for tools and tests; the samenloop service writes
// through For: with a live writer while it runs, so that no signaal is
// added to, or removed from, an index whose marker is missing (Redis came
// back empty, or a rebuild runs), and an event a rebuild applied is not
// applied again; with the rebuild's writer while it rebuilds. Every write
// script checks that in the same round trip.
//
// # Errors
//
// Every method wraps ErrUnavailable when Redis cannot serve it, and
// ErrInvalid for a malformed argument; a guarded write wraps
// projection.ErrIncomplete or projection.ErrFenced when the guard refuses
// it. An Index is safe for concurrent use, also by several processes.
package samenloopindex
