package storetest

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/scimd/scimd/store"
)

var server struct {
	once sync.Once
	dsn  string
	stop func()
	err  error
}

// Main runs a package's tests, then stops the PostgreSQL cluster the tests
// started, if they started one. Use it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }
func Main(m *testing.M) int {
	code := m.Run()
	if server.stop != nil {
		server.stop()
	}
	return code
}

// PostgresDSN creates a fresh, empty database on the test PostgreSQL and
// drops it when the test ends. It fails the test, never skips it, when no
// PostgreSQL can be found or started.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	server.once.Do(func() {
		server.dsn, server.stop, server.err = postgresServer()
	})
	if server.err != nil {
		t.Fatalf("storetest: %v", server.err)
	}
	dsn, drop, err := CreateDatabase(server.dsn)
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	t.Cleanup(func() {
		if err := drop(); err != nil {
			t.Errorf("storetest: drop database: %v", err)
		}
	})
	return dsn
}

// SQLiteDSN names a new SQLite file in the test's temporary directory.
func SQLiteDSN(t testing.TB) string {
	return "sqlite:" + filepath.Join(t.TempDir(), "scimd.db")
}

// Open opens and migrates the database at dsn, closing it when the test ends.
func Open(t testing.TB, dsn string) *store.DB {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("storetest: %v", err)
	}
	return db
}

// Each runs fn twice, as the subtests "sqlite" and "postgres", each with a
// fresh migrated database of its own: one suite, both databases.
func Each(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	EachDSN(t, func(t *testing.T, dsn string) { fn(t, Open(t, dsn)) })
}

// EachDSN is [Each] for tests that open the database themselves, such as a
// server started from the command line.
func EachDSN(t *testing.T, fn func(t *testing.T, dsn string)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLiteDSN(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, PostgresDSN(t)) })
}
