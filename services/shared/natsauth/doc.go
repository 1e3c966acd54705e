// Package natsauth generates the NATS users of a region and their
// least-privilege permissions, as nats-server configuration: one user per
// ketenbus service (gateway, router, adapter, escalator, samenloop), an
// admin user for operators, and one user per NATS-native partner (a
// partner with `delivery: {nats: {}}`).
//
// [Authorization] returns the text of deploy/nats/authorization.conf,
// which deploy/nats/nats-server.conf includes. Passwords are never in the
// text: each user's password is the environment variable
// [PasswordEnv](user), which nats-server reads when it loads the file.
//
// [Account] returns instead the region's account in a server of several
// regions (deploy/nats/national.conf, deploy/nats/accounts/): its own
// JetStream and the same users, each named <account>-<user>
// ([AccountUsers]), who see nothing of another region.
//
// Each user may do its job and nothing else:
//
//   - gateway: publish events of the partners to EVENTS (not events in the
//     name of ketenbus itself), read the EVENTS stream info (readiness).
//   - router: consume EVENTS with its durable "router", publish DELIVERY
//     and AUDIT.
//   - adapter: consume DELIVERY with durable "adapter-<partner>" for every
//     webhook partner (its filter fixed to that partner), publish DLQ and
//     AUDIT, keep the ketenbus-retired key-value bucket.
//   - escalator, samenloop: consume EVENTS with their durables, publish
//     their own event type back to EVENTS on the ketenbus subject, and
//     AUDIT; read EVENTS with ordered consumers, its info and single
//     messages by sequence, to rebuild their projection in Redis (and
//     samenloop its signalen); never another service's durable.
//   - partner-<id>: pull from and acknowledge its own durable consumer
//     [bus.PartnerConsumer](id) on DELIVERY, read that consumer's info, and
//     nothing else: no other partner's deliveries, no EVENTS, no DLQ, no
//     creating consumers.
//   - admin: everything (creating streams and the partners' consumers,
//     replays, DLQ repair). Services never create streams.
//
// Every user receives replies (JetStream API answers, PubAcks, pulled
// messages) only on its own inbox prefix [InboxPrefix](user), so no user
// can read another's replies; connect with
// nats.CustomInboxPrefix(natsauth.InboxPrefix(user)).
package natsauth
