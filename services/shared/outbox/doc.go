// Package outbox is the one way a service emits what it stores for a
// partner besides the deliveries themselves: the system events ketenbus
// produces (escalatie, samenloop) on EVENTS, and the processing log's
// records (package audit) of everything it stores or delivers.
//
// A system event is built by Build, from an Event: its CloudEvents id,
// source (the region's), type, time, subject and the ketenbus extension
// ontvanger, stored under ketenbus.events.<event>.<version>.ketenbus with
// the Nats-Msg-Id of its (source, id) and the TTL of its type's
// retention. The id is derived from what caused the event, so the same
// cause publishes the same message, which JetStream stores once.
//
// Publish stores built events asynchronously, waits for their PubAcks,
// and then writes the record of every stored one to the processing log,
// again waiting for JetStream. A record's id is derived from what it is
// about, so publishing the same events again logs each once. Log and
// LogMsgs write records of other processings (a delivery) the same way.
package outbox
