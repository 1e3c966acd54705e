// Package timers keeps the escalator's timers in Redis: one timer per
// watched event (an aanmelding or an overdracht), holding the next level of
// its escalation ladder and when that level is due.
//
// # Claiming and bookkeeping
//
// Any number of escalator replicas share one Redis. Claim takes due timers
// in one Lua script: it reads them and pushes their due time to now+Lease,
// so two replicas never hold the same timer within a lease and the timers
// of a replica that crashed come back once the lease ends. After firing a
// level the replica calls Advance (next level) or Finish (ladder done);
// both change the timer only if it still has the level that was claimed,
// so a Cancel (bevestiging) or another replica's Advance in between wins
// and nothing is resurrected. A re-claim after a crash fires the same
// level again; the escalatie id derives from (timer id, level), so
// JetStream drops the duplicate.
//
// # Redis model
//
// With the default prefix P = "ketenbus:timers:":
//
//	P+"due"            sorted set: member = timer id as 16 raw bytes,
//	                   score = due time in Unix milliseconds (rounded up;
//	                   now+Lease while claimed)
//	P+"d:"+hhhh        hash, one of 65,536 buckets named by the first two
//	                   id bytes in hex: field = the other 14 id bytes,
//	                   value = the timer, packed (below)
//	P+"profile:code"   hash: profile → code
//	P+"profile:text"   hash: code → profile
//	P+"r:"+id          string with a TTL: a bevestiging that came before
//	                   its event, or a term that ended (Remember)
//	P+"projection"     hash: the marker that the timers are complete, and
//	                   up to which EVENTS sequence (package projection)
//	P+"rebuild"        string with a TTL: the lock of a rebuild
//
// A hash per timer, even with one-letter field names, costs about 440
// bytes of Redis memory besides the sorted set; small buckets in Redis's
// compact listpack encoding and packed values cost about 90. A profile is
// the low-cardinality part of a timer: Kind, Reden, Betreft.Source,
// Betreft.Type, Ontvanger, Sender and the forms of Subject and Betreft.ID,
// joined by NUL bytes. It is stored once and referenced by a small integer
// code that the writing script assigns; codes are never reused until
// Clear. The packed value is:
//
//	uvarint  profile code
//	byte     flags: termijn unit (2 bits), due unit (2), anchor unit (2:
//	         none, hour, second, nanosecond), level (2: 0, 1, 2, or 3 =
//	         uvarint level−3 follows)
//	varint   termijn since 1970, in its unit (hour, second, millisecond
//	         or nanosecond: the coarsest that holds it exactly)
//	varint   due − termijn, in its unit
//	[varint  anchor − termijn, in its unit]
//	subject: 32 raw bytes when it is 64 lowercase hex digits, else
//	         uvarint length + bytes
//	betreft id: 16 raw bytes when it is a canonical UUID, else
//	            uvarint length + bytes
//
// Terms and birthdays fall on midnight in Amsterdam, whole hours, so a
// typical timer packs into 54–64 bytes, within Redis's default
// hash-max-listpack-value (64). A longer value is kept in chunks of 64
// bytes (fields f, f+"\x01", …), so a bucket stays a listpack as long as
// it has at most hash-max-listpack-entries (128) fields: up to about
// 5,000,000 pending timers. Beyond that a bucket turns into a hash table:
// still correct, with more memory per timer. At 1,000,000 pending timers a
// timer costs about 216 bytes of Redis memory (126 in the sorted set, 90
// in its bucket); BenchmarkTimers measures it.
//
// Times come back in UTC, the same instant to the nanosecond.
//
// The scripts touch bucket keys they compute themselves. A single Redis
// (with or without Sentinel) runs them as they are; on Redis Cluster, put
// every key in one slot with a hash-tagged prefix such as
// "{ketenbus:timers}:".
//
// # Projection
//
// The timers are a projection of EVENTS (package projection). A Store
// from New writes unguarded, for tools and tests; the escalator writes
// through For: with a live writer while it runs, so that nothing is
// written, claimed or fired while the marker is missing (Redis came back
// empty, or a rebuild runs) and an event a rebuild applied is not applied
// again; with the rebuild's writer while it rebuilds. Every write script
// checks that in the same round trip.
//
// # Errors
//
// Every method wraps ErrUnavailable when Redis cannot be reached, is
// loading, read-only, out of memory or busy: the escalator then stops
// acking and reports not ready. Malformed timers and ids wrap ErrInvalid.
// A guarded write wraps projection.ErrIncomplete or projection.ErrFenced
// when the guard refuses it.
//
// A Store is safe for concurrent use.
package timers
