// Package region reads the region config: the one YAML file that every
// ketenbus service reads. It names the region, its chain partners (their
// sources, tokens, the event types they publish, their subscriptions and
// how events are delivered to them), the escalation ladder, the samenloop
// window and the environment variables that hold the region's secrets.
//
// Load and Parse decode the file strictly and validate it. Every mistake is
// reported at once, each with its line, the key it concerns and a hint, in a
// *ProblemsError:
//
//	region.yaml:14: partners[2].id: "Politie" is not a valid partner id (hint: use lowercase letters, digits and '-')
//
// Secrets never appear in the file; the file names the environment
// variables that hold them, and Config.ResolveSecrets reads them. In a demo
// region (demo: true) a missing secret is generated and returned so the
// caller can show and keep it.
//
// deploy/examples/region.yaml is the annotated example of the format.
package region
