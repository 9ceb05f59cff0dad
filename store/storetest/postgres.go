package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
)

const (
	// envDatabaseURL names a PostgreSQL the tests must use, as a postgres://
	// URL with rights to create and drop databases.
	envDatabaseURL = "SCIMD_TEST_DATABASE_URL"

	// localDSN is where the development machines and CI run PostgreSQL with
	// trust authentication.
	localDSN = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

	// pgLibDir is where Debian and Ubuntu install each PostgreSQL major
	// version's binaries, as pgLibDir/VERSION/bin.
	pgLibDir = "/usr/lib/postgresql"

	// pgUser is the OS account the server runs as when the tests run as
	// root, because initdb and postgres refuse to run as root.
	pgUser = "postgres"
)

// PostgresServer finds or starts a PostgreSQL server for tests and returns an
// admin DSN for it. stop shuts down a server that PostgresServer started and
// does nothing otherwise; it is never nil when err is nil.
func PostgresServer() (adminDSN string, stop func(), err error) {
	return postgresServer()
}

// postgresServer tries, in order, SCIMD_TEST_DATABASE_URL, the server at
// 127.0.0.1:5432 and a throwaway cluster from the installed binaries. Its
// error says what each step found, because the caller fails the test with it.
func postgresServer() (adminDSN string, stop func(), err error) {
	noop := func() {}
	if dsn := os.Getenv(envDatabaseURL); dsn != "" {
		// A server named explicitly must work: falling back to another
		// would test against a database nobody asked for.
		if err := ping(dsn, 10*time.Second); err != nil {
			return "", nil, fmt.Errorf("no PostgreSQL: %s=%s: %w", envDatabaseURL, redact(dsn), err)
		}
		return dsn, noop, nil
	}
	localErr := ping(localDSN, 2*time.Second)
	if localErr == nil {
		return localDSN, noop, nil
	}
	c, err := startCluster()
	if err != nil {
		return "", nil, fmt.Errorf("no PostgreSQL: %s unset, 127.0.0.1:5432 unusable (%v), and no throwaway cluster: %w",
			envDatabaseURL, localErr, err)
	}
	return c.dsn, func() {
		// Main calls stop after the tests have run, with no test left
		// to fail, so stderr is the only place to report a leak.
		if err := c.stop(); err != nil {
			fmt.Fprintf(os.Stderr, "storetest: %v\n", err)
		}
	}, nil
}

// ping opens dsn and checks that the server answers within timeout.
func ping(dsn string, timeout time.Duration) error {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return db.PingContext(ctx)
}

// redact hides a password in dsn, which ends up in test logs.
func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// CreateDatabase creates a fresh, empty database on the server at adminDSN
// and returns a DSN for it, with the admin DSN's host, port, user and
// parameters. drop terminates the database's connections and drops it.
func CreateDatabase(adminDSN string) (dsn string, drop func() error, err error) {
	u, err := url.Parse(adminDSN)
	if err != nil {
		return "", nil, fmt.Errorf("create database: parse admin DSN: %w", err)
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return "", nil, fmt.Errorf("create database: admin DSN %s is not a postgres:// URL", redact(adminDSN))
	}
	name, err := randomName()
	if err != nil {
		return "", nil, fmt.Errorf("create database: %w", err)
	}
	if err := adminExec(adminDSN, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", nil, fmt.Errorf("create database %s: %w", name, err)
	}
	drop = func() error {
		if err := dropDatabase(adminDSN, name); err != nil {
			return fmt.Errorf("drop database %s: %w", name, err)
		}
		return nil
	}
	return databaseDSN(u, name), drop, nil
}

// randomName makes database names unique across the test binaries that
// `go test ./...` runs in parallel against one server.
func randomName() (string, error) {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("random name: %w", err)
	}
	return "scimd_test_" + hex.EncodeToString(b[:]), nil
}

// databaseDSN is admin with its database replaced by name. It turns TLS off
// unless admin chose a mode, as the test servers speak no TLS and the
// default, prefer, would first try it on every connection.
func databaseDSN(admin *url.URL, name string) string {
	u := *admin
	u.Path = "/" + name
	u.RawPath = ""
	q := u.Query()
	if q.Get("sslmode") == "" {
		q.Set("sslmode", "disable")
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// dropDatabase drops name even while a test's pool still holds connections
// to it: the terminate covers backends FORCE would wait on, such as ones
// still starting up.
func dropDatabase(adminDSN, name string) error {
	db, err := sql.Open("pgx", adminDSN)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const terminate = `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`
	if _, err := db.ExecContext(ctx, terminate, name); err != nil {
		return fmt.Errorf("terminate connections: %w", err)
	}
	if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return err
	}
	return nil
}

// adminExec runs one statement on a connection of its own. CREATE DATABASE
// cannot run in a transaction, and a short-lived connection keeps tests from
// holding admin connections open for their whole run.
func adminExec(adminDSN, query string) error {
	db, err := sql.Open("pgx", adminDSN)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = db.ExecContext(ctx, query)
	return err
}

// cluster is a throwaway PostgreSQL server in a temporary directory.
type cluster struct {
	dir    string   // temporary directory: data/, log and the socket
	bin    string   // directory holding initdb, pg_ctl and postgres
	runner []string // command prefix that runs the binaries, e.g. runuser
	dsn    string   // admin DSN, over TCP on 127.0.0.1
}

// startCluster initializes and starts a new cluster on a free port. It is
// the last resort of postgresServer, kept separate so a test can prove it
// works on a machine where discovery would never reach it.
func startCluster() (*cluster, error) {
	bin, err := findPGBin()
	if err != nil {
		return nil, err
	}
	runner, owner, err := pgRunner()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "scimd-pg-")
	if err != nil {
		return nil, fmt.Errorf("start cluster: %w", err)
	}
	c := &cluster{dir: dir, bin: bin, runner: runner}
	if err := c.setUp(owner); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start cluster from %s: %w", bin, err)
	}
	return c, nil
}

// setUp hands the directory to owner, if any, then runs initdb and starts
// the server.
func (c *cluster) setUp(owner *user.User) error {
	if owner != nil {
		if err := chownTo(c.dir, owner); err != nil {
			return err
		}
	}
	if err := c.initdb(); err != nil {
		return err
	}
	return c.start()
}

// dataDir is a subdirectory so initdb creates it with the mode it wants,
// beside the log and the socket rather than among the cluster's files.
func (c *cluster) dataDir() string { return filepath.Join(c.dir, "data") }

// initdb creates the cluster in UTF8 with the C.UTF-8 locale the machine's
// own server uses, so both sort and fold case alike; it falls back to the C
// locale where C.UTF-8 is not installed. Without -E the encoding would follow
// the environment, which under CI may be SQL_ASCII.
func (c *cluster) initdb() error {
	var errs []error
	for _, locale := range []string{"C.UTF-8", "C"} {
		out, err := c.run("initdb", "-D", c.dataDir(), "-A", "trust", "-U", "postgres",
			"-E", "UTF8", "--locale="+locale, "--no-sync")
		if err == nil {
			return nil
		}
		errs = append(errs, fmt.Errorf("initdb --locale=%s: %w: %s", locale, err, lastLines(out, 5)))
		if !strings.Contains(string(out), "locale") {
			break
		}
	}
	return errors.Join(errs...)
}

// start starts the server on a free port, trying another port when the one
// picked was taken in between.
func (c *cluster) start() error {
	var err error
	for range 3 {
		var port int
		port, err = freePort()
		if err != nil {
			return err
		}
		err = c.startOn(port)
		if err == nil {
			c.dsn = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
			return nil
		}
		if !strings.Contains(err.Error(), "already in use") {
			return err
		}
	}
	return err
}

// startOn runs pg_ctl start. The settings trade durability, which a
// throwaway cluster does not need, for speed. pg_ctl hands the options to
// /bin/sh, hence the quotes around the socket directory.
func (c *cluster) startOn(port int) error {
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k '%s' -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
		port, c.dir)
	logFile := filepath.Join(c.dir, "log")
	out, err := c.run("pg_ctl", "-D", c.dataDir(), "-o", opts, "-l", logFile, "-w", "-t", "30", "start")
	if err != nil {
		log, _ := os.ReadFile(logFile)
		return fmt.Errorf("pg_ctl start on port %d: %w: %s; log: %s", port, err, lastLines(out, 3), lastLines(log, 5))
	}
	return nil
}

// stop stops the server without a checkpoint, as its data is thrown away,
// and removes the directory.
func (c *cluster) stop() error {
	var errs []error
	if out, err := c.run("pg_ctl", "-D", c.dataDir(), "-m", "immediate", "-w", "stop"); err != nil {
		errs = append(errs, fmt.Errorf("pg_ctl stop: %w: %s", err, lastLines(out, 3)))
	}
	if err := os.RemoveAll(c.dir); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("stop cluster in %s: %w", c.dir, err)
	}
	return nil
}

// run runs one of the cluster's binaries, as the postgres user when the
// tests run as root, and returns its combined output.
func (c *cluster) run(name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	argv := append(slices.Clone(c.runner), filepath.Join(c.bin, name))
	argv = append(argv, args...)
	return exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
}

// pgRunner says how to run the server binaries. initdb and postgres refuse
// to run as root, so as root they run as the postgres user, who must then
// own the cluster's directory.
func pgRunner() (runner []string, owner *user.User, err error) {
	if os.Geteuid() != 0 {
		return nil, nil, nil
	}
	owner, err = user.Lookup(pgUser)
	if err != nil {
		return nil, nil, fmt.Errorf("running as root, initdb needs the OS user %s: %w", pgUser, err)
	}
	runuser, err := exec.LookPath("runuser")
	if err != nil {
		return nil, nil, fmt.Errorf("running as root, initdb must run as %s: %w", pgUser, err)
	}
	return []string{runuser, "-u", pgUser, "--"}, owner, nil
}

// chownTo gives dir and everything in it to u.
func chownTo(dir string, u *user.User) error {
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return fmt.Errorf("uid of %s: %w", u.Username, err)
	}
	gid, err := strconv.Atoi(u.Gid)
	if err != nil {
		return fmt.Errorf("gid of %s: %w", u.Username, err)
	}
	return filepath.WalkDir(dir, func(path string, _ os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, uid, gid)
	})
}

// findPGBin returns the directory of the newest installed PostgreSQL's
// initdb and pg_ctl, looking under /usr/lib/postgresql, where Debian keeps
// them off PATH, and then on PATH.
func findPGBin() (string, error) {
	dirs, _ := filepath.Glob(filepath.Join(pgLibDir, "*", "bin"))
	slices.SortFunc(dirs, func(a, b string) int {
		return compareVersions(versionOf(b), versionOf(a)) // newest first
	})
	for _, dir := range dirs {
		if hasServerBinaries(dir) {
			return dir, nil
		}
	}
	if initdb, err := exec.LookPath("initdb"); err == nil {
		// pg_ctl finds postgres beside its own resolved path, so the
		// binaries must come from one directory, not each from PATH.
		if resolved, err := filepath.EvalSymlinks(initdb); err == nil && hasServerBinaries(filepath.Dir(resolved)) {
			return filepath.Dir(resolved), nil
		}
		if hasServerBinaries(filepath.Dir(initdb)) {
			return filepath.Dir(initdb), nil
		}
	}
	return "", fmt.Errorf("no initdb and pg_ctl found under %s/*/bin or on PATH", pgLibDir)
}

// hasServerBinaries reports whether dir holds initdb and pg_ctl.
func hasServerBinaries(dir string) bool {
	for _, name := range []string{"initdb", "pg_ctl"} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.IsDir() {
			return false
		}
	}
	return true
}

// versionOf is the version directory of a /usr/lib/postgresql/VERSION/bin
// path, such as "15" or "9.6".
func versionOf(binDir string) string {
	return filepath.Base(filepath.Dir(binDir))
}

// compareVersions compares dotted versions numerically, so that 10 is newer
// than 9.6; a part that is not a number counts as 0.
func compareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := range max(len(as), len(bs)) {
		if c := versionPart(as, i) - versionPart(bs, i); c != 0 {
			return c
		}
	}
	return 0
}

func versionPart(parts []string, i int) int {
	if i >= len(parts) {
		return 0
	}
	n, _ := strconv.Atoi(parts[i])
	return n
}

// freePort asks the kernel for a free port on 127.0.0.1. Another process
// may take it before the server binds it; start then tries again.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// lastLines keeps error messages short: the end of a tool's output is where
// it says what went wrong.
func lastLines(out []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
