// Package audit is the processing log of ketenbus (Logboek
// Dataverwerkingen): one Record per processing of personal data, on the
// AUDIT stream, subject ketenbus.audit.<partner>.
//
// A Record follows the Logius standard "Logboek Dataverwerkingen", which
// models a log record as an OpenTelemetry-style span: trace_id, span_id,
// name, start and end time, status, and attributes such as the processing
// activity (dpl.core.processing_activity_id: the purpose) and the data
// subject (dpl.core.data_subject_id: the pseudonym, never a BSN).
//
// Records are not sampled. Writer.Write waits for JetStream to store the
// record; a caller that cannot write it must not ack its input, so the
// processing is done again and logged then. A record's id (its trace and
// span id, and so its Nats-Msg-Id) is derived from what it is about, so a
// redelivered input logs its processing once.
package audit
