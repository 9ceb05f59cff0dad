// Package ops is scimd's operations side: the Prometheus metrics (a
// private registry), the middleware that logs one line per request and
// counts it, the operations listener's handler (/metrics, /healthz,
// /readyz, pprof) and the OpenTelemetry tracer. It imports none of
// scimd's packages: cmd/scimd wires it to the store and the engine.
package ops
