package ops

import (
	"context"
	"io"
	"net/http"
	"net/http/pprof"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// HandlerConfig configures the operations listener's [Handler].
type HandlerConfig struct {
	// Metrics are served at /metrics; nil: no /metrics.
	Metrics *Metrics
	// Ready answers /readyz: nil error, 200; else 503. nil: always ready.
	Ready func(ctx context.Context) error
	// Pprof serves net/http/pprof below /debug/pprof/.
	Pprof bool
}

// Handler is the operations listener's handler:
//
//	GET /metrics         Prometheus metrics (text exposition format)
//	GET /healthz         the process is up
//	GET /readyz          the database answers
//	    /debug/pprof/    the Go profiler, with HandlerConfig.Pprof
func Handler(cfg HandlerConfig) http.Handler {
	mux := http.NewServeMux()
	if cfg.Metrics != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(cfg.Metrics.reg, promhttp.HandlerOpts{
			Registry: cfg.Metrics.reg, ErrorHandling: promhttp.ContinueOnError}))
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if cfg.Ready != nil {
			if err := cfg.Ready(r.Context()); err != nil {
				http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
		io.WriteString(w, "ok\n")
	})
	if cfg.Pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no such endpoint: the operations listener serves /metrics, /healthz, /readyz and, with --pprof, /debug/pprof/", http.StatusNotFound)
	})
	return mux
}
