// Package e2e holds the end-to-end tests of the deployments in deploy/,
// run as an operator runs them:
//
//   - local_test.go: deploy/local/local.sh brings a region up in its
//     production shape (a 3-node NATS cluster, Redis, every service its own
//     process under its own NATS user) with a region config that points a
//     webhook partner at a real HTTP sink running the partner SDK's
//     receiver; an event posted to the gateway with a token from the
//     script's env file is delivered, also after the adapter was killed
//     and started again by name; down stops every process it recorded.
//
// The package has no code of its own, only tests.
package e2e
