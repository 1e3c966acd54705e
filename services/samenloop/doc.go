// Package samenloop tells partners when they signal the same person, as
// the Verwijsindex Risicojongeren does, for every age and every partner.
//
// The service consumes the signalen and bevestigingen of EVENTS through a
// Watermill router. A signaal from partner P on a person (the keyed
// pseudonym in its subject) enters the index in Redis (package index).
// When another partner has an active signaal on the same person within
// samenloop.window_days, P joins the person's samenloop and ketenbus
// publishes nl.sociaaldomein.samenloop.v1 events into EVENTS, each
// directed (ontvanger) to one partner:
//
//   - to P: the partners it joins, each with its name, contactpersoon and
//     when it signalled, and P's own signalen;
//   - to every partner already involved: P alone, and that partner's own
//     signalen;
//   - to the regievoerder: every involved partner and when each
//     signalled (and its own signalen, if it signalled too).
//
// A samenloop event never carries another partner's categorie, urgentie,
// toelichting, BSN or signaal ids: of another partner only its id, name,
// contactpersoon (from its latest signaal, which exists to be contacted)
// and when it first signalled within the window. A partner signalling the
// person again produces nothing; a third partner produces events about
// itself only.
//
// Signalen leave the index when the window passes, or earlier with a
// bevestiging afgerond on the signaal from the partner that signalled it
// or from the regievoerder.
//
// # Exactly once
//
// An event is acked only after the index and every samenloop event it
// caused are stored. The index records what each signaal decided, so a
// redelivered signaal publishes the same events again, with the same ids
// and Nats-Msg-Id, which JetStream drops. Replicas share the durable
// consumer; the index's scripts are atomic, so any number of them may run.
//
// # Rebuilding
//
// The index is a projection of EVENTS with a marker that says it is
// complete (package projection). When Redis comes back without it
// (restarted empty, flushed, a failover to an empty replica) or without
// its last writes, the service notices by itself, at start, when Redis
// answers again, at its next write and periodically, and rebuilds the
// index from EVENTS, publishing nothing: one replica, under a lock, while
// the others wait, and no event is applied meanwhile. Rebuild does the
// same on request (`ketenbus samenloop rebuild`).
package samenloop
