package storetest

import (
	"net/url"
	"strconv"
	"testing"
)

// Cluster is a PostgreSQL server of one test's own, started from the
// installed binaries, which the test may stop and start again: what a
// database outage does is tested against a real one going away.
type Cluster struct {
	c    *cluster
	port int
}

// StartCluster starts a throwaway cluster for t and removes it when t
// ends. It fails t where no PostgreSQL server binaries are installed.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	c, err := startCluster()
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	t.Cleanup(func() {
		if err := c.stop(); err != nil {
			t.Errorf("storetest: %v", err)
		}
	})
	u, err := url.Parse(c.dsn)
	if err != nil {
		t.Fatal(err)
	}
	port, err := strconv.Atoi(u.Port())
	if err != nil {
		t.Fatal(err)
	}
	return &Cluster{c: c, port: port}
}

// CreateDatabase makes an empty database on the cluster and returns its DSN.
func (c *Cluster) CreateDatabase(t testing.TB) string {
	t.Helper()
	dsn, _, err := CreateDatabase(c.c.dsn)
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	return dsn
}

// Stop stops the server as an operator's restart does: open connections
// are cut and new ones refused. It is pg_ctl's fast mode, not immediate:
// the cluster runs with synchronous_commit off, and a crash would lose the
// last commits, which the test would then miss after Start.
func (c *Cluster) Stop(t testing.TB) {
	t.Helper()
	if out, err := c.c.run("pg_ctl", "-D", c.c.dataDir(), "-m", "fast", "-w", "stop"); err != nil {
		t.Fatalf("storetest: pg_ctl stop: %v: %s", err, lastLines(out, 3))
	}
}

// Start starts the stopped server again, on the same port.
func (c *Cluster) Start(t testing.TB) {
	t.Helper()
	if err := c.c.startOn(c.port); err != nil {
		t.Fatalf("storetest: %v", err)
	}
}
