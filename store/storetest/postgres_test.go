package storetest

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
)

func TestCreateDatabase(t *testing.T) {
	adminDSN, stop, err := postgresServer()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)

	dsn, drop, err := CreateDatabase(adminDSN)
	if err != nil {
		t.Fatal(err)
	}
	name := databaseName(t, dsn)
	if !strings.HasPrefix(name, "scimd_test_") {
		t.Errorf("database %q lacks the scimd_test_ prefix", name)
	}
	if u, _ := url.Parse(dsn); u.Query().Get("sslmode") == "" {
		t.Errorf("DSN %s has no sslmode", dsn)
	}

	// A connection left open is what drop must cope with: a test's pool
	// is often still open when its cleanup runs.
	db := openDB(t, dsn)
	ctx := context.Background()
	var current string
	if err := db.QueryRowContext(ctx, "SELECT current_database()").Scan(&current); err != nil {
		t.Fatal(err)
	}
	if current != name {
		t.Fatalf("connected to %q, want %q", current, name)
	}
	if _, err := db.ExecContext(ctx, "CREATE TABLE t (id int PRIMARY KEY, s text)"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "INSERT INTO t VALUES (1, 'é')"); err != nil {
		t.Fatal(err)
	}

	if err := drop(); err != nil {
		t.Fatal(err)
	}
	if n := countDatabases(t, adminDSN, name); n != 0 {
		t.Fatalf("database %s still in pg_database after drop", name)
	}
	if err := drop(); err != nil {
		t.Errorf("second drop: %v", err)
	}
}

func TestCreateDatabaseRejectsNonURL(t *testing.T) {
	if _, _, err := CreateDatabase("host=127.0.0.1 user=postgres"); err == nil {
		t.Fatal("CreateDatabase accepted a keyword/value DSN it cannot rewrite")
	}
}

// TestThrowawayCluster starts a cluster directly, because on a machine with
// a server at 127.0.0.1:5432 discovery never gets this far.
func TestThrowawayCluster(t *testing.T) {
	c, err := startCluster()
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			if err := c.stop(); err != nil {
				t.Error(err)
			}
		}
	})

	if err := ping(c.dsn, 5*time.Second); err != nil {
		t.Fatalf("cluster at %s: %v", c.dsn, err)
	}
	// The cluster serves as an admin DSN like any other server.
	dsn, drop, err := CreateDatabase(c.dsn)
	if err != nil {
		t.Fatal(err)
	}
	db := openDB(t, dsn)
	var encoding string
	if err := db.QueryRow("SHOW server_encoding").Scan(&encoding); err != nil {
		t.Fatal(err)
	}
	if encoding != "UTF8" {
		t.Errorf("server_encoding = %s, want UTF8", encoding)
	}
	if err := drop(); err != nil {
		t.Fatal(err)
	}

	stopped = true
	if err := c.stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(c.dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("stat %s after stop: %v, want not exist", c.dir, err)
	}
	if err := ping(c.dsn, 2*time.Second); err == nil {
		t.Error("cluster still answers after stop")
	}
}

func TestCompareVersions(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int // sign
	}{
		{"15", "9.6", 1},
		{"9.6", "10", -1},
		{"16", "16", 0},
		{"9.6", "9.5", 1},
	} {
		got := compareVersions(tc.a, tc.b)
		if sign(got) != tc.want {
			t.Errorf("compareVersions(%q, %q) = %d, want sign %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

func databaseName(t *testing.T, dsn string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimPrefix(u.Path, "/")
}

func openDB(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func countDatabases(t *testing.T, adminDSN, name string) int {
	t.Helper()
	var n int
	err := openDB(t, adminDSN).QueryRow("SELECT count(*) FROM pg_database WHERE datname = $1", name).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
