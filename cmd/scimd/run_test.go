package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scimd/scimd/store/storetest"
)

func TestMain(m *testing.M) {
	code := storetest.Main(m)
	removeBinary()
	os.Exit(code)
}

// scimd runs a command in-process, as the binary would.
func scimd(t *testing.T, environ map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(""), &out, &errOut, func(k string) string { return environ[k] })
	return code, out.String(), errOut.String()
}

func TestHelp(t *testing.T) {
	code, out, _ := scimd(t, nil, "help")
	if code != 0 || !strings.Contains(out, "scimd serve") || !strings.Contains(out, "token create") {
		t.Fatalf("help: code %d, %q", code, out)
	}
	if code, _, errOut := scimd(t, nil, "frobnicate"); code != exitUsage || !strings.Contains(errOut, "unknown command") {
		t.Fatalf("unknown command: code %d, %q", code, errOut)
	}
	if code, _, errOut := scimd(t, nil, "token", "create", "--tenant", "acme"); code != exitUsage || !strings.Contains(errOut, "--connector") {
		t.Fatalf("missing flag: code %d, %q", code, errOut)
	}
	if code, _, errOut := scimd(t, nil, "serve", "--help"); code != 0 || !strings.Contains(errOut, "-database-url") {
		t.Fatalf("serve --help: code %d, %q", code, errOut)
	}
	// A group's --help lists its subcommands, rather than pointing at itself.
	for cmd, subs := range map[string][]string{"token": {"create", "list", "revoke"}, "connector": {"set", "preview", "requests", "replay"}, "session": {"list", "end"}} {
		code, _, errOut := scimd(t, nil, cmd, "--help")
		if code != 0 || strings.Contains(errOut, "Run 'scimd "+cmd+" --help'") {
			t.Fatalf("%s --help: code %d, %q", cmd, code, errOut)
		}
		for _, sub := range subs {
			if !strings.Contains(errOut, "  "+sub+" ") {
				t.Errorf("%s --help does not list %s: %q", cmd, sub, errOut)
			}
		}
	}
	if code, _, errOut := scimd(t, nil, "token", "create", "--help"); code != 0 || !strings.Contains(errOut, "-tenant") {
		t.Fatalf("token create --help: code %d, %q", code, errOut)
	}
}

func TestVersion(t *testing.T) {
	code, out, errOut := scimd(t, nil, "version")
	if code != 0 || !strings.Contains(out, "github.com/scimd/scimd") || !strings.Contains(out, runtime.Version()) {
		t.Fatalf("version: code %d, %q %q", code, out, errOut)
	}
}

// TestMissingDatabase: the commands that work on an existing database
// refuse a path with no file, rather than make an empty one there (where
// a token made would open nothing the server serves); serve and migrate
// create the file, in a directory that exists.
func TestMissingDatabase(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "mistyped.db")
	for _, args := range [][]string{
		{"token", "create", "--tenant", "acme", "--connector", "okta"},
		{"token", "list"},
		{"token", "revoke", "1"},
		{"connector", "set", "--tenant", "acme", "--connector", "okta", "--profile", "okta"},
		{"session", "list", "--tenant", "acme", "--user", "11111111-1111-4111-8111-111111111111"},
		{"session", "end", "--tenant", "acme", "--user", "11111111-1111-4111-8111-111111111111"},
	} {
		for _, environ := range []map[string]string{{"SCIMD_DATABASE_URL": missing}, {"SCIMD_DATABASE_URL": "sqlite:" + missing + "?x=1"}} {
			code, _, errOut := scimd(t, environ, args...)
			if code != exitError || !strings.Contains(errOut, "no database at "+missing) {
				t.Errorf("%v with %v: code %d, %q", args, environ, code, errOut)
			}
			if _, err := os.Stat(missing); err == nil {
				t.Fatalf("%v created %s", args, missing)
			}
		}
	}
	if code, _, errOut := scimd(t, nil, "token", "list", "--database-url", "/nonexistent/dir/x.db"); code != exitError || !strings.Contains(errOut, "/nonexistent/dir/x.db") {
		t.Errorf("token list in a missing directory: code %d, %q", code, errOut)
	}
	if code, _, errOut := scimd(t, nil, "migrate", "--database-url", missing); code != 0 {
		t.Fatalf("migrate of a new file: code %d, %q", code, errOut)
	}
	if code, _, errOut := scimd(t, nil, "token", "list", "--database-url", missing); code != 0 {
		t.Fatalf("token list once migrated: code %d, %q", code, errOut)
	}
}

// TestServeSurvivesRestart is the README's path on both databases: make the
// database, make a token, serve, create a user, stop, serve again, find the user.
func TestServeSurvivesRestart(t *testing.T) {
	storetest.EachDSN(t, func(t *testing.T, dsn string) {
		environ := map[string]string{"SCIMD_DATABASE_URL": dsn}
		if code, _, errOut := scimd(t, environ, "migrate"); code != 0 {
			t.Fatalf("migrate: %d %s", code, errOut)
		}
		code, out, errOut := scimd(t, environ, "token", "create", "--tenant", "acme", "--connector", "okta")
		if code != 0 {
			t.Fatalf("token create: %d %s", code, errOut)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		token := lines[len(lines)-1]
		if !strings.HasPrefix(token, "scimd_") {
			t.Fatalf("token create's last stdout line is %q, want the token", token)
		}

		addr := freeAddr(t)
		environ["SCIMD_ADDR"] = addr
		base := "http://" + addr + "/scim/v2/acme"

		stop := serveInBackground(t, environ)
		res, body := request(t, "POST", base+"/Users", token, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"alice@example.com"}`)
		if res.StatusCode != http.StatusCreated {
			t.Fatalf("create: %d %s", res.StatusCode, body)
		}
		id := body["id"].(string)
		stop()

		stop = serveInBackground(t, environ)
		defer stop()
		res, body = request(t, "GET", base+"/Users/"+id, token, "")
		if res.StatusCode != http.StatusOK || body["userName"] != "alice@example.com" {
			t.Fatalf("after restart: %d %v", res.StatusCode, body)
		}

		// serve owns the top-level routes: health without a token, and a
		// 404 for what no source serves.
		for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/nothing": 404, "/scim/v2/": 404} {
			if res, err := http.Get("http://" + addr + path); err != nil || res.StatusCode != want {
				t.Errorf("GET %s: %v %v, want %d", path, res.StatusCode, err, want)
			}
		}

		// The token list shows the token by hint, never the token itself.
		code, out, _ = scimd(t, environ, "token", "list")
		if code != 0 || !strings.Contains(out, "okta") || strings.Contains(out, token) {
			t.Fatalf("token list: %d %q", code, out)
		}
		// Revoked, it no longer opens the door.
		if code, _, errOut := scimd(t, environ, "token", "revoke", "1"); code != 0 {
			t.Fatalf("revoke: %s", errOut)
		}
		if res, _ := request(t, "GET", base+"/Users", token, ""); res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("revoked token: %d", res.StatusCode)
		}
	})
}

func TestMigrate(t *testing.T) {
	storetest.EachDSN(t, func(t *testing.T, dsn string) {
		environ := map[string]string{}
		code, out, errOut := scimd(t, environ, "migrate", "--database-url", dsn)
		if code != 0 || !strings.Contains(out, "applied") {
			t.Fatalf("migrate: %d %q %q", code, out, errOut)
		}
		code, out, _ = scimd(t, environ, "migrate", "--database-url", dsn)
		if code != 0 || !strings.Contains(out, "0 applied now") {
			t.Fatalf("second migrate: %d %q", code, out)
		}
	})
}

func TestBadDatabaseURL(t *testing.T) {
	code, _, errOut := scimd(t, nil, "migrate", "--database-url", "/nonexistent/dir/x.db")
	if code != exitError || !strings.Contains(errOut, "nonexistent") {
		t.Fatalf("bad path: %d %q", code, errOut)
	}
}

func serveInBackground(t *testing.T, environ map[string]string) (stop func()) {
	t.Helper()
	stop, _ = serveLogging(t, environ)
	return stop
}

// serveLogging is serveInBackground that also returns what serve has
// written to stderr so far (its log).
func serveLogging(t *testing.T, environ map[string]string) (stop func(), logs func() string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var (
		wg     sync.WaitGroup
		code   int
		errOut lockedBuffer
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		code = run(ctx, []string{"serve"}, strings.NewReader(""), new(bytes.Buffer), &errOut, func(k string) string { return environ[k] })
	}()
	deadline := time.Now().Add(20 * time.Second)
	ready := "http://" + environ["SCIMD_ADDR"] + "/readyz"
	get := http.DefaultClient.Get
	if environ["SCIMD_SERVER_TLS_CERT"] != "" {
		ready = "https://" + environ["SCIMD_ADDR"] + "/readyz"
		get = insecureClient.Get
	}
	for {
		res, err := get(ready)
		if err == nil && res.StatusCode == 200 {
			res.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			cancel()
			wg.Wait()
			t.Fatalf("serve did not become ready: %s", errOut.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			cancel()
			wg.Wait()
			if code != 0 {
				t.Errorf("serve exited %d: %s", code, errOut.String())
			}
		})
	}, errOut.String
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func request(t *testing.T, method, url, token, body string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	json.NewDecoder(res.Body).Decode(&out)
	return res, out
}
