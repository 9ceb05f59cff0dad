// Package rules holds connector mapping rules: per connector (one identity
// source of one tenant), how what the source sends becomes the
// application's org units, groups, roles, status, access window and
// external ID, and who owns which attribute.
//
// The configuration is one YAML file, described by
// schemas/connector.schema.json, with examples in schemas/examples:
//
//	Load (load.go)     YAML → Config: every problem at once, as *Error with file:line:col and a hint
//	  node.go          YAML values, aliases, positions and syntax errors
//	  expr.go          CEL environment, templates ("Class of ${gradYear}"), type checks, hints
//	Eval (eval.go)     Input → Result: rules whose condition holds, in order; grants split by the allow-list
//	config.go          the Config, Tenant and Connector types, Default, Permits, Outranks, RoleValid, Vouches
//
// Rules are CEL expressions (https://cel.dev) compiled and type-checked at
// load, as Kubernetes and Dex do, so a typo in a rule stops the server
// from starting instead of surfacing at the first sign-in. Evaluation has
// a cost budget, no I/O and no clock: [Connector.Eval] is pure,
// deterministic and safe for concurrent use.
//
// The package imports nothing else of scimd's: reconcile turns its
// [Result] into a plan.
package rules
