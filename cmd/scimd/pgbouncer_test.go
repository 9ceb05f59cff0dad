package main

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	osuser "os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/scimd/scimd/store/storetest"
)

// TestPgBouncer runs scimd through PgBouncer in transaction-pooling mode,
// as large installations put many replicas on one primary: three `scimd
// serve` processes share a pool of three server connections (so each
// transaction lands on whichever is free), migrate the fresh database
// through it together, answer a SCIM CRUD and PATCH sequence, and then
// driveReplicas' concurrent workload. The token listener goes direct
// (--listen-database-url), as LISTEN does not survive a transaction pooler.
func TestPgBouncer(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	pooled := startPgBouncer(t, dsn, 3)
	bases := startReplicas(t, 3, pooled, "--listen-database-url", dsn)
	token := newToken(t, pooled, "acme", "okta")
	other := scimClient{token: newToken(t, pooled, "beta", "okta"), http: &http.Client{Timeout: time.Minute}}
	crud(t, other, bases[0]+"/scim/v2/beta")
	driveReplicas(t, bases, token, dsn)
}

// crud is one user and one group through their lifecycle on one replica.
func crud(t *testing.T, c scimClient, base string) {
	t.Helper()
	step := func(method, path, etag, body string, want int) answer {
		t.Helper()
		a, err := c.do(method, base+path, etag, body)
		if err != nil || a.status != want {
			t.Fatalf("%s %s: %v %d %s, want %d", method, path, err, a.status, a.raw, want)
		}
		return a
	}
	u := step("POST", "/Users", "", `{`+userSchema+`,"userName":"crud@example.com","name":{"givenName":"Ann"}}`, http.StatusCreated)
	id := u.body["id"].(string)
	step("GET", "/Users/"+id, "", "", http.StatusOK)
	list := step("GET", `/Users?filter=userName%20eq%20%22crud@example.com%22`, "", "", http.StatusOK)
	if list.body["totalResults"] != float64(1) {
		t.Fatalf("filter: %s", list.raw)
	}
	put := step("PUT", "/Users/"+id, u.etag, `{`+userSchema+`,"userName":"crud@example.com","name":{"givenName":"Anna"}}`, http.StatusOK)
	step("PATCH", "/Users/"+id, u.etag, `{`+patchSchema+`,"Operations":[{"op":"replace","path":"active","value":false}]}`, http.StatusPreconditionFailed)
	patched := step("PATCH", "/Users/"+id, put.etag, `{`+patchSchema+`,"Operations":[{"op":"replace","path":"active","value":false}]}`, http.StatusOK)
	if patched.body["active"] != false || patched.body["name"].(map[string]any)["givenName"] != "Anna" {
		t.Fatalf("after PUT and PATCH: %s", patched.raw)
	}
	g := step("POST", "/Groups", "", fmt.Sprintf(`{%s,"displayName":"CRUD","members":[{"value":%q}]}`, groupSchema, id), http.StatusCreated)
	gid := g.body["id"].(string)
	step("PATCH", "/Groups/"+gid, "", `{`+patchSchema+`,"Operations":[{"op":"replace","path":"displayName","value":"CRUD 2"}]}`, http.StatusNoContent)
	read := step("GET", "/Groups/"+gid, "", "", http.StatusOK)
	if members, _ := read.body["members"].([]any); read.body["displayName"] != "CRUD 2" || len(members) != 1 {
		t.Fatalf("group: %s", read.raw)
	}
	step("DELETE", "/Groups/"+gid, "", "", http.StatusNoContent)
	step("DELETE", "/Users/"+id, "", "", http.StatusNoContent)
	step("GET", "/Users/"+id, "", "", http.StatusNotFound)
}

// startPgBouncer starts Debian's pgbouncer in transaction-pooling mode in
// front of the server dsn names, with poolSize server connections per
// database, and returns dsn through it. The test fails, not skips, without
// pgbouncer when CI is set (.ci/run installs it).
func startPgBouncer(t *testing.T, dsn string, poolSize int) string {
	t.Helper()
	bin, err := exec.LookPath("pgbouncer")
	if err != nil {
		bin = "/usr/sbin/pgbouncer" // not on a user's PATH
		if _, err := os.Stat(bin); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatal("pgbouncer is not installed (apt-get install pgbouncer); CI must run this test")
			}
			t.Skip("pgbouncer is not installed (apt-get install pgbouncer)")
		}
	}
	server, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	host, port, err := net.SplitHostPort(server.Host)
	if err != nil {
		t.Fatal(err)
	}
	dbUser := server.User.Username()
	password, _ := server.User.Password()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	listen := ln.Addr().(*net.TCPAddr).Port
	ln.Close()

	// pgbouncer refuses to run as root: then it runs as postgres, which
	// must read its files, so they are not in t.TempDir (mode 0700).
	dir, err := os.MkdirTemp("", "scimd-pgbouncer-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	backend := fmt.Sprintf("host=%s port=%s user=%s", host, port, dbUser)
	if password != "" {
		backend += " password=" + password
	}
	ini := fmt.Sprintf(`[databases]
* = %s

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %d
unix_socket_dir =
auth_type = trust
auth_file = %s
pool_mode = transaction
default_pool_size = %d
min_pool_size = 0
reserve_pool_size = 0
max_client_conn = 1000
ignore_startup_parameters = extra_float_digits
admin_users = %s
`, backend, listen, filepath.Join(dir, "userlist.txt"), poolSize, dbUser)
	for name, content := range map[string]string{
		"pgbouncer.ini": ini,
		"userlist.txt":  strconv.Quote(dbUser) + ` ""` + "\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	args := []string{bin, filepath.Join(dir, "pgbouncer.ini")}
	if os.Geteuid() == 0 {
		if _, err := osuser.Lookup("postgres"); err != nil {
			t.Fatalf("running as root, pgbouncer needs another account: %v", err)
		}
		args = append([]string{"runuser", "-u", "postgres", "--"}, args...)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		if t.Failed() {
			t.Logf("pgbouncer log:\n%s", tail(out.String(), 30))
		}
	})
	pooled := *server
	pooled.Host = net.JoinHostPort("127.0.0.1", strconv.Itoa(listen))
	pooled.User = url.User(dbUser)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		db := openSQL(t, pooled.String())
		err := db.Ping()
		db.Close()
		if err == nil {
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("pgbouncer exited: %v\n%s", err, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("pgbouncer not answering: %v\n%s", err, out.String())
		}
	}
	t.Cleanup(func() { checkPooled(t, pooled, dbName(pooled)) })
	return pooled.String()
}

func dbName(u url.URL) string { return strings.TrimPrefix(u.Path, "/") }

// checkPooled asks pgbouncer's console (SHOW POOLS, SHOW STATS) that the
// traffic went through it in transaction mode, with no more server
// connections than the pool has.
func checkPooled(t *testing.T, pooled url.URL, name string) {
	console := pooled
	console.Path = "/pgbouncer"
	q := console.Query()
	q.Set("default_query_exec_mode", "simple_protocol")
	console.RawQuery = q.Encode()
	db := openSQL(t, console.String())
	rows, err := db.Query("SHOW POOLS")
	if err != nil {
		t.Errorf("pgbouncer console: %v", err)
		return
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	found := false
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Errorf("SHOW POOLS: %v", err)
			return
		}
		row := map[string]string{}
		for i, c := range cols {
			row[c] = fmt.Sprint(vals[i])
			if b, ok := vals[i].([]byte); ok {
				row[c] = string(b)
			}
		}
		if row["database"] != name {
			continue
		}
		found = true
		if row["pool_mode"] != "transaction" {
			t.Errorf("pgbouncer pool mode %q, want transaction", row["pool_mode"])
		}
		t.Logf("pgbouncer pool: %v", row)
	}
	if !found {
		t.Errorf("pgbouncer has no pool for %s: the traffic did not go through it", name)
	}
}
