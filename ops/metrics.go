package ops

import (
	"context"
	"database/sql"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// MaxConnectors bounds the connector label: the connectors named in
// [Config.Connectors] and the first MaxConnectors others seen have their
// own series; the rest share connector="other".
const MaxConnectors = 32

// Other is the label value of connectors past [MaxConnectors], and of
// routes no pattern names.
const Other = "other"

// Stats are the sources of the metrics read at scrape time.
type Stats struct {
	// Pools are the database's connection pools by name.
	Pools map[string]*sql.DB
	// Outbox reports the messages waiting to be sent and when the
	// oldest was queued.
	Outbox func(ctx context.Context) (pending int64, oldest time.Time, err error)
	// ImportJobs counts the import jobs by state.
	ImportJobs func(ctx context.Context) (map[string]int, error)
}

// Metrics are scimd's metrics, in a registry of their own.
type Metrics struct {
	reg *prometheus.Registry

	requests   *prometheus.CounterVec
	duration   *prometheus.HistogramVec
	inFlight   prometheus.Gauge
	operations *prometheus.CounterVec
	plans      *prometheus.CounterVec

	mu         sync.Mutex
	connectors map[string]bool // the names given their own label value
	seen       int             // how many of them were not configured
}

// NewMetrics returns the metrics, registered with the Go runtime's and
// the process's, and the collectors of stats. connectors are the names
// that always have their own connector label value (those the
// configuration file names).
func NewMetrics(stats Stats, connectors ...string) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), connectors: map[string]bool{}}
	for _, c := range connectors {
		m.connectors[c] = true
	}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "scimd_http_requests_total",
		Help: "HTTP requests answered, by route (the pattern that served it), method, status code and connector (\"\" before authentication).",
	}, []string{"route", "method", "status", "connector"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "scimd_http_request_duration_seconds",
		Help:    "Time from a request's arrival to its last byte written, by route and method.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
	}, []string{"route", "method"})
	m.inFlight = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "scimd_http_requests_in_flight",
		Help: "HTTP requests being served.",
	})
	m.operations = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "scimd_provisioning_operations_total",
		Help: "Writes through the engine, by source (scim, oidc, csv, admin, cli, activation), resource kind (User, Group) and operation (create, replace, patch, delete, upsert, load).",
	}, []string{"source", "kind", "op"})
	m.plans = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "scimd_reconcile_plans_total",
		Help: "Outcomes of the engine's plans, by source, mode (live, preview, shadow) and outcome (the plan's action, or held, rejected, conflict, stale, not_found, forbidden, unavailable, error).",
	}, []string{"source", "mode", "outcome"})
	m.reg.MustRegister(m.requests, m.duration, m.inFlight, m.operations, m.plans,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	names := make([]string, 0, len(stats.Pools))
	for name := range stats.Pools {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		m.reg.MustRegister(collectors.NewDBStatsCollector(stats.Pools[name], name))
	}
	if stats.Outbox != nil || stats.ImportJobs != nil {
		m.reg.MustRegister(&storeCollector{stats: stats})
	}
	return m
}

// Registry is where the metrics are registered, for more of them.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// connector returns the label value of a connector name.
func (m *Metrics) connector(name string) string {
	if name == "" {
		return ""
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.connectors[name] {
		return name
	}
	if m.seen < MaxConnectors {
		m.seen++
		m.connectors[name] = true
		return name
	}
	return Other
}

// request counts one request answered.
func (m *Metrics) request(route, method string, status int, connector string, took time.Duration) {
	m.requests.WithLabelValues(route, method, strconv.Itoa(status), m.connector(connector)).Inc()
	m.duration.WithLabelValues(route, method).Observe(took.Seconds())
}

// Applied counts writes of one outcome (see reconcile.Applied, whose
// fields these are).
func (m *Metrics) Applied(source, kind, op, mode, outcome string, count int) {
	m.operations.WithLabelValues(source, kind, op).Add(float64(count))
	m.plans.WithLabelValues(source, mode, outcome).Add(float64(count))
}

// storeCollector reads the outbox and the import jobs at scrape time.
type storeCollector struct{ stats Stats }

var (
	outboxPending = prometheus.NewDesc("scimd_outbox_pending_messages",
		"Messages (activation links, import summaries) waiting in the outbox to be sent.", nil, nil)
	outboxLag = prometheus.NewDesc("scimd_outbox_lag_seconds",
		"Age of the oldest message waiting in the outbox; 0 when none waits.", nil, nil)
	importJobs = prometheus.NewDesc("scimd_import_jobs",
		"Import jobs in the database, by state (queued, validating, loading, done, failed).", []string{"state"}, nil)
	scrapeErrors = prometheus.NewDesc("scimd_store_scrape_errors",
		"1 when the last scrape could not read a store metric (the database is unavailable), by metric.", []string{"metric"}, nil)
)

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- outboxPending
	ch <- outboxLag
	ch <- importJobs
	ch <- scrapeErrors
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	failed := func(metric string, err error) {
		v := 0.0
		if err != nil {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(scrapeErrors, prometheus.GaugeValue, v, metric)
	}
	if c.stats.Outbox != nil {
		n, oldest, err := c.stats.Outbox(ctx)
		failed("outbox", err)
		if err == nil {
			lag := 0.0
			if n > 0 && !oldest.IsZero() {
				lag = max(0, time.Since(oldest).Seconds())
			}
			ch <- prometheus.MustNewConstMetric(outboxPending, prometheus.GaugeValue, float64(n))
			ch <- prometheus.MustNewConstMetric(outboxLag, prometheus.GaugeValue, lag)
		}
	}
	if c.stats.ImportJobs != nil {
		states, err := c.stats.ImportJobs(ctx)
		failed("import_jobs", err)
		for _, s := range []string{"queued", "validating", "loading", "done", "failed"} {
			if err == nil {
				ch <- prometheus.MustNewConstMetric(importJobs, prometheus.GaugeValue, float64(states[s]), s)
			}
		}
	}
}
