// Package scrape is what the metrics read at scrape time share: a gauge
// whose value NATS or Redis gives at each scrape, its timeout, and
// ketenbus_scrape_errors_total, which counts the reads that got no answer.
//
// A gauge never reports a sentinel value: when NATS or Redis does not
// answer within Timeout, its sample is left out of that scrape and
// ketenbus_scrape_errors_total{source} goes up by one, source naming what
// did not answer (NATS or Redis). A dashboard then shows a gap where
// there is no number, and an alert on the counter says why.
package scrape
