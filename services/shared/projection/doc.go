// Package projection keeps a projection of EVENTS in Redis (the
// escalator's timers, the samenloop index) honest about itself: whether
// it is complete, up to which EVENTS sequence, and who rebuilds it.
//
// # Marker
//
// A projection is complete while its marker exists: a hash that the
// rebuild which recreated the projection writes last (Lock.Complete). A
// Redis that comes back empty (restarted without persistence, a failover
// to an empty replica, FLUSHALL) has no marker, and neither has a Redis
// holding the projection of a ketenbus that had no markers yet. The
// service then rebuilds the projection from EVENTS by itself (Keeper).
//
// The marker's seq is the EVENTS sequence up to which the last rebuild
// applied every event its service consumes; a live write for an event at
// or below it is skipped, so what the consumer gets after a rebuild is
// not applied twice (the consumer may lag behind what the rebuild read).
// A live write for event n raises the marker's applied to n, in the same
// script (Live). When the service's consumer has acknowledged EVENTS
// beyond both, Redis lost writes it had confirmed (an asynchronous
// replica promoted by Sentinel, an append-only file synced every second):
// the Keeper replays EVENTS from there (the last event it holds
// included: its writes may have landed in part) on top of what Redis
// holds, or, when the consumer does not apply events one at a time,
// rebuilds from scratch. A consumer writes an event's effect, or a Note
// when it has none, before it acks the event.
//
// # Guard
//
// Every write script of a store starts with Lua, which defines the guard
// projectionGuard: the first two KEYS of the script are the marker and
// the lock, the first three ARGV the writer's mode, event sequence and
// token (Writer.Keys, Writer.Args); Lua removes them, so the rest of the
// script sees its own. A live write fails with ErrIncomplete while the
// marker is missing, so no event is applied to an empty Redis unnoticed,
// and that costs no round trip of its own. A rebuild's write fails with
// ErrFenced once the rebuild no longer holds the lock, so a rebuilder
// that stalled past its lock cannot touch the work of the next one.
//
// # Lock
//
// One replica rebuilds; the others wait until the marker is back.
// Acquire takes the lock (SET NX PX, in a script that also removes the
// marker, so every replica's live writes stop at once); Build renews it
// while the rebuild runs and, when the rebuild is done, writes the marker
// and removes the lock in one script. A rebuild that fails leaves no
// marker: the lock is released (or expires) and the next attempt starts
// over.
//
// # Redis model
//
// With the store's key prefix P:
//
//	P+"projection"  hash: seq, applied, built (Unix ms), reason, events,
//	                took (ms), from (where a catch-up started; 0: all)
//	P+"rebuild"     string with a TTL: the lock, "<since Unix ms>:<token>"
//
// Both start with the store's prefix, so a hash-tagged prefix keeps them
// in the slot of the projection on Redis Cluster. Clear keeps the lock.
package projection
