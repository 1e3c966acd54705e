// Package monitor is the dashboard of a Zorg- en Veiligheidshuis: a
// server-rendered web application (Dutch) that shows whether the chain
// works today.
//
//   - Overzicht: events per type per hour, delivery health per partner
//     (pending, oldest unacked, failures in the last hour, circuit,
//     retired subscriptions, DLQ), escalaties today by niveau, open
//     samenloop.
//   - Live: the event stream as it happens over Server-Sent Events,
//     context attributes only (type, partner, shortened pseudonym,
//     ontvanger, time), filterable by type and partner.
//   - Partner: its subscriptions, recent delivery attempts with their
//     HTTP status, its DLQ with a retry (after a confirmation).
//   - Termijnen: pending terms by due time, recent escalaties.
//
// The monitor reads: EVENTS (context attributes; of escalaties also
// niveau, reden and ontvanger, which hold no personal data), the consumer
// state of DELIVERY, the DLQ, the ACTIVITY log of the adapters, the
// retired-subscription bucket, and in Redis the escalator's timers and the
// samenloop index. No page, fragment or SSE message ever holds a BSN, a
// data field or a response body: the event data is never decoded except
// those three escalatie fields, and every text shown passes
// events.RedactBSNs when it is read: what the monitor keeps in memory
// holds no BSN either.
//
// Access: an operator token (Authorization: Bearer, or a login form that
// sets an HttpOnly session cookie), or a header set by a trusted reverse
// proxy such as oauth2-proxy (only from the proxies' addresses), or open,
// for ketenbus dev only. /healthz and /metrics are open, like the
// gateway's. Every POST needs the page's CSRF token.
package monitor
