// Package schemas holds the contract of the ketenbus event catalog: one JSON
// Schema (draft 2020-12) per event type, describing the event's data object,
// and asyncapi.yaml (AsyncAPI 3.0.0), describing the gateway endpoint, the
// NATS subjects and webhook delivery. The files are the source of truth and
// are embedded in the binary with go:embed; the package has no dependencies
// outside the standard library.
//
// Schema conventions that validators and the gateway rely on:
//
//   - "format": "bsn" marks a BSN; a validator must register a custom format
//     "bsn" that checks the elfproef (11-test) and must assert formats.
//   - "x-sensitive": true marks a sensitive data field (every bsn). It sits
//     directly on the property schema under the top-level "properties", never
//     behind a $ref. The gateway encrypts these fields before they reach
//     JetStream.
//   - "x-message" on a schema object replaces the generic validation message
//     when one of that object's own keywords fails (not keywords of its
//     subschemas). Where a rule combines subschemas, such as aanmelding's
//     "exactly one of reactietermijn or uiterlijk", the oneOf sits alone in an
//     allOf entry that carries the x-message, so the message never applies to
//     the sibling keywords (required, additionalProperties) of the root.
//
// Every schema is self-contained (reusable parts live in its own $defs, there
// are no references to other files), so a partner can use one file alone.
package schemas
