package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/uptrace/bun/extra/bunotel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/scimd/scimd/ops"
	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/reconcile/rules"
	"github.com/scimd/scimd/store"
)

// opsFlags are serve's operations flags: the operations listener and
// tracing.
type opsFlags struct {
	addr, otlp *string
	pprof      *bool
	// addrGiven: --ops-addr or SCIMD_OPS_ADDR was set, so that a listener
	// that cannot listen there is an error; the default address taken
	// (a second scimd on the machine) is only a warning.
	addrGiven bool
}

// observability is serve's metrics, tracing and operations listener.
type observability struct {
	flags   *opsFlags
	metrics *ops.Metrics
	tracer  *sdktrace.TracerProvider // nil: no tracing
	srv     *http.Server             // nil: no operations listener
	errc    chan error
	log     *slog.Logger
}

// newObservability sets up tracing when an endpoint is given; its
// [observability.start] the rest, once the database is open.
func newObservability(ctx context.Context, f *opsFlags, log *slog.Logger) (*observability, error) {
	tp, err := ops.NewTracerProvider(ctx, *f.otlp, buildVersion())
	if err != nil {
		return nil, err
	}
	return &observability{flags: f, log: log, tracer: tp}, nil
}

// storeOptions trace the database's queries when tracing.
func (o *observability) storeOptions() []store.Option {
	if o.tracer == nil {
		return nil
	}
	return []store.Option{store.WithQueryHook(bunotel.NewQueryHook(bunotel.WithTracerProvider(o.tracer)))}
}

// start makes the metrics of db and engine, and starts the operations
// listener unless its address is off. cfg's connectors have their own
// connector label value.
func (o *observability) start(db *store.DB, engine *reconcile.Engine, cfg *rules.Config) error {
	var names []string
	if cfg != nil {
		for _, t := range cfg.Tenants {
			for _, c := range t.Connectors {
				names = append(names, c.Name)
			}
		}
	}
	o.metrics = ops.NewMetrics(ops.Stats{Pools: db.Pools(), Outbox: db.OutboxBacklog, ImportJobs: db.ImportJobStates}, names...)
	engine.SetObserver(engineObserver{o.metrics})
	f := o.flags
	if *f.addr == "off" || *f.addr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", *f.addr)
	if err != nil && !f.addrGiven {
		o.log.Warn("no operations listener: its default address is taken; set --ops-addr (env SCIMD_OPS_ADDR), or off", "addr", *f.addr, "err", err)
		return nil
	}
	if err != nil {
		return fmt.Errorf("operations listener (--ops-addr): %w", err)
	}
	o.srv = &http.Server{
		Handler:           ops.Handler(ops.HandlerConfig{Metrics: o.metrics, Ready: db.Ping, Pprof: *f.pprof}),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(o.log.Handler(), slog.LevelWarn),
	}
	o.errc = make(chan error, 1)
	go func() { o.errc <- o.srv.Serve(ln) }()
	o.log.Info("operations listener", "url", "http://"+ln.Addr().String(), "pprof", *f.pprof, "tracing", o.tracer != nil)
	return nil
}

// handler wraps the main listener's handler: a span per request when
// tracing, and the request log line and metrics.
func (o *observability) handler(h http.Handler) http.Handler {
	var wrapped http.Handler = ops.Middleware(o.log, o.metrics, h)
	if o.tracer != nil {
		wrapped = ops.Traced(o.tracer, wrapped)
	}
	return wrapped
}

// close stops the operations listener and sends the spans left.
func (o *observability) close(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if o.srv != nil {
		o.srv.Shutdown(ctx)
		if err := <-o.errc; !errors.Is(err, http.ErrServerClosed) {
			o.log.Warn("operations listener", "err", err)
		}
	}
	if o.tracer != nil {
		if err := o.tracer.Shutdown(ctx); err != nil {
			o.log.Warn("tracing: spans not sent", "err", err)
		}
	}
}

// engineObserver tells the request middleware whom a request acts as,
// and counts the engine's writes.
type engineObserver struct{ m *ops.Metrics }

func (o engineObserver) Authenticated(ctx context.Context, p store.Principal) {
	ops.SetPrincipal(ctx, p.TenantName, p.ConnectorName)
}

func (o engineObserver) Applied(_ context.Context, w reconcile.Applied) {
	o.m.Applied(string(w.Source), string(w.Kind), string(w.Op), w.Mode, w.Outcome, w.Count)
}

// buildVersion is the module version the binary was built as.
func buildVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		return bi.Main.Version
	}
	return "unknown"
}
