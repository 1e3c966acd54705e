// Package deploytest checks the deployments of a region, deploy/kubernetes
// (kustomize, the NATS Helm values) and deploy/docker, against the code
// they run: a flag, variable, port, probe path or secret that a manifest
// names and the code does not, or the other way round, fails a test that
// says exactly what disagrees and where.
//
// The truth comes from the code, never from a copied list: the flags, the
// variables and the defaults of each service binary from its
// [svcmain.Service] ([svcmain.FlagsOf]), the secrets a region names from
// deploy/examples/region.yaml through package region, the NATS users and
// their password variables from package natsauth.
//
// The main of every service calls [Service] from a test of its own, with
// the Service it runs; this package's own tests check what no single
// service owns: the Secrets, the NATS Helm values, Redis, the
// NetworkPolicies and the Dockerfiles.
package deploytest
