package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scimd/scimd/reconcile/rules"
)

// testEnv is the environment a command gets: vars is the whole of it,
// listed by environ too, so that unknown SCIMD_* variables are checked as
// in the binary.
func testEnv(vars map[string]string) env {
	return env{stdin: strings.NewReader(""), stdout: new(bytes.Buffer), stderr: new(bytes.Buffer),
		getenv: func(k string) string { return vars[k] },
		environ: func() []string {
			var out []string
			for _, k := range slices.Sorted(maps.Keys(vars)) {
				out = append(out, k+"="+vars[k])
			}
			return out
		}}
}

// writeFile writes text to name in dir and returns its path.
func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// serveSettings loads the settings as serve does, with its flags args.
func serveSettings(t *testing.T, vars map[string]string, args ...string) (*Settings, error) {
	t.Helper()
	e := testEnv(vars)
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	settingsFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return loadSettings(e, fs)
}

// problems returns the problems of a configuration refused, as printed.
func problems(t *testing.T, err error) []string {
	t.Helper()
	var invalid *rules.Error
	if !errors.As(err, &invalid) {
		t.Fatalf("err = %v, want a *rules.Error", err)
	}
	return strings.Split(invalid.Error(), "\n")
}

// TestSettingsPrecedence: a flag set on the command line beats the
// environment, which beats the file, which beats the default; a flag left
// at its default beats nothing.
func TestSettingsPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "scimd.yaml", `server:
  addr: 127.0.0.1:7001
  baseURL: https://file.example.com
  writeTimeout: 9m
smtp:
  from: file@example.com
  rate: 2.5
requestLog:
  rows: 5
  age: 1h
`)
	st, err := serveSettings(t, map[string]string{
		"SCIMD_CONFIG":           file,
		"SCIMD_SMTP_FROM":        "env@example.com",
		"SCIMD_REQUEST_LOG_ROWS": "7",
		"SCIMD_REQUEST_LOG_AGE":  "2h",
		"SCIMD_BASE_URL":         "https://alias.example.com", // the older name, under the new one
		"SCIMD_SERVER_BASE_URL":  "https://env.example.com",
	}, "--request-log-rows", "9")
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		key       string
		got, want any
	}{
		{"server.addr: the file's (the flag was not set)", st.Server.Addr, "127.0.0.1:7001"},
		{"server.baseURL: its own variable over the alias and the file", st.Server.BaseURL, "https://env.example.com"},
		{"server.writeTimeout: the file's", st.Server.WriteTimeout, 9 * time.Minute},
		{"server.readTimeout: the default", st.Server.ReadTimeout, time.Minute},
		{"smtp.from: the environment's", st.SMTP.From, "env@example.com"},
		{"smtp.rate: the file's", st.SMTP.Rate, 2.5},
		{"requestLog.rows: the flag's", st.RequestLog.Rows, 9},
		{"requestLog.age: the environment's", st.RequestLog.Age, 2 * time.Hour},
		{"database.url: the default", st.Database.URL, "scimd.db"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.key, c.got, c.want)
		}
	}

	// The older variable names still work alone, and --config beats
	// SCIMD_CONFIG.
	other := writeFile(t, dir, "other.yaml", "server: {addr: '127.0.0.1:7002'}\n")
	st, err = serveSettings(t, map[string]string{"SCIMD_CONFIG": file, "SCIMD_BASE_URL": "https://alias.example.com",
		"SCIMD_IMPORT_STALE": "3m", "SCIMD_LISTEN_DATABASE_URL": "off"}, "--config", other)
	if err != nil {
		t.Fatal(err)
	}
	if st.File != other || st.Server.Addr != "127.0.0.1:7002" || st.Server.BaseURL != "https://alias.example.com" ||
		st.Imports.Stale != 3*time.Minute || st.Database.ListenURL != "off" {
		t.Errorf("aliases and --config: %+v", st)
	}
}

// TestSettingsSecretFiles: a secret comes from the file its _FILE
// variable names (a mounted secret), less the final newline; both
// variables set, or an unreadable file, is a problem.
func TestSettingsSecretFiles(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "from-secret.db")
	urlFile := writeFile(t, dir, "db-url", dbPath+"\n")
	pwFile := writeFile(t, dir, "smtp-pw", "s3cret\n")
	st, err := serveSettings(t, map[string]string{"SCIMD_DATABASE_URL_FILE": urlFile, "SCIMD_SMTP_PASSWORD_FILE": pwFile})
	if err != nil {
		t.Fatal(err)
	}
	if st.Database.URL != dbPath || st.SMTP.Password != "s3cret" {
		t.Errorf("database.url %q, smtp.password %q", st.Database.URL, st.SMTP.Password)
	}

	_, err = serveSettings(t, map[string]string{
		"SCIMD_DATABASE_URL": "x.db", "SCIMD_DATABASE_URL_FILE": urlFile,
		"SCIMD_SMTP_PASSWORD_FILE": filepath.Join(dir, "missing"),
	})
	got := problems(t, err)
	if len(got) != 2 || !strings.Contains(got[0], "SCIMD_DATABASE_URL_FILE: database.url: both SCIMD_DATABASE_URL and SCIMD_DATABASE_URL_FILE are set") ||
		!strings.Contains(got[1], "SCIMD_SMTP_PASSWORD_FILE: smtp.password:") {
		t.Errorf("problems:\n%s", strings.Join(got, "\n"))
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Error("a problem shows a secret")
	}

	// The other commands read database.url the same way: migrate makes the
	// database the secret file names.
	code, out, errOut := scimdEnv(t, map[string]string{"SCIMD_DATABASE_URL_FILE": urlFile}, "migrate")
	if code != 0 {
		t.Fatalf("migrate: %d %s %s", code, out, errOut)
	}
	if _, err := os.Stat(dbPath); err != nil {
		t.Errorf("migrate did not use the URL from SCIMD_DATABASE_URL_FILE: %v", err)
	}
	code, _, errOut = scimdEnv(t, map[string]string{"SCIMD_DATABASE_URL_FILE": urlFile, "SCIMD_DATABASE_URL": "x.db"}, "migrate")
	if code != exitInvalid || !strings.Contains(errOut, "keep one") {
		t.Errorf("migrate with both: %d %s", code, errOut)
	}
	// An explicit --database-url needs neither.
	explicit := filepath.Join(dir, "explicit.db")
	code, _, errOut = scimdEnv(t, map[string]string{"SCIMD_DATABASE_URL_FILE": urlFile, "SCIMD_DATABASE_URL": "x.db"}, "migrate", "--database-url", explicit)
	if code != 0 {
		t.Errorf("migrate --database-url: %d %s", code, errOut)
	}
}

// scimdEnv is scimd with vars as the whole environment.
func scimdEnv(t *testing.T, vars map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	e := testEnv(vars)
	code = runEnv(context.Background(), args, e)
	return code, e.stdout.(*bytes.Buffer).String(), e.stderr.(*bytes.Buffer).String()
}

// TestSettingsUnknownKeys: an unknown key, in a server section or the
// tenants section, is a problem at its line; an unknown SCIMD_* variable
// in a section's namespace, or one a typo away from a known one, is too.
func TestSettingsUnknownKeys(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "scimd.yaml", `# scimd
server:
  addr: 127.0.0.1:7001
  baseUrl: https://x.example.com
limit:
  maxBodyBytes: 10
tenants:
  - name: acme
    connectors:
      - name: okta
        kind: oidc
        oidc: {issuer: "https://idp.example.com", clientId: scimd, clientSecretEnv: SCIMD_OKTA_SECRET}
        colour: blue
`)
	_, err := serveSettings(t, map[string]string{"SCIMD_CONFIG": file,
		"SCIMD_SERVER_ADRESS": "x", "SCIMD_DATABSE_URL": "y", "SCIMD_OKTA_SECRET": "named by clientSecretEnv",
		"SCIMD_SOMETHING_ELSE": "a warning only"})
	got := problems(t, err)
	want := []string{
		file + `:4:3: unknown key "baseUrl" in server (hint: did you mean baseURL?`,
		file + `:5:1: unknown key "limit" in the file (hint: did you mean limits?`,
		file + `:13:9: unknown key "colour" in connector`,
		`SCIMD_DATABSE_URL: environment variable sets no configuration key (hint: did you mean SCIMD_DATABASE_URL?)`,
		`SCIMD_SERVER_ADRESS: environment variable sets no configuration key`,
	}
	if len(got) != len(want) {
		t.Fatalf("%d problems, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("problem %d:\n got %s\nwant %s…", i, got[i], want[i])
		}
	}

	// Without the problems, the variable no key takes and no connector
	// names is a warning.
	good := writeFile(t, dir, "good.yaml", "server:\n  addr: 127.0.0.1:7001\n")
	st, err := serveSettings(t, map[string]string{"SCIMD_CONFIG": good, "SCIMD_SOMETHING_ELSE": "x", "SCIMD_TEST_DATABASE_URL": "ignored"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(st.Unused, []string{"SCIMD_SOMETHING_ELSE"}) {
		t.Errorf("unused = %v", st.Unused)
	}
}

// TestSettingsEveryProblem: every bad value is listed, each by key and
// where it was set, not just the first.
func TestSettingsEveryProblem(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "scimd.yaml", `server:
  addr: nohost
  readTimeout: 30
  tls:
    cert: /etc/scimd/cert.pem
  baseURL: scim.example.com
limits:
  maxBodyBytes: -5
  connectorRate: -1
requestLog:
  age: 1d
smtp: [a, b]
tenants:
  - name: acme
    connectors:
      - name: okta
        match: [nothing]
`)
	_, err := serveSettings(t, map[string]string{"SCIMD_CONFIG": file, "SCIMD_IMPORTS_STALE": "soon"}, "--mail-rate", "0")
	got := problems(t, err)
	want := []string{
		file + `:2:9: server.addr: "nohost" is not host:port`,
		file + `:3:16: server.readTimeout: 30 has no unit`,
		file + `:5:11: server.tls.cert: is set without server.tls.key`,
		file + `:6:12: server.baseURL: "scim.example.com" is not an absolute http(s) URL`,
		file + `:8:17: limits.maxBodyBytes: "-5" must be more than 0`,
		file + `:9:18: limits.connectorRate: "-1" must not be negative`,
		file + `:11:8: requestLog.age: "1d" is not a duration`,
		file + `:12:7: smtp must be a mapping of keys to values`,
		file + `:17:17:`, // the connector's match, from rules.Load
		`SCIMD_IMPORTS_STALE: imports.stale: "soon" is not a duration`,
		`--mail-rate: smtp.rate: "0" must be more than 0`,
	}
	if len(got) != len(want) {
		t.Fatalf("%d problems, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("problem %d:\n got %s\nwant %s…", i, got[i], want[i])
		}
	}
}

// TestConfigCheck: config check exits 3 listing every problem, and 0 with
// a short OK, reading the file and the environment as serve would.
func TestConfigCheck(t *testing.T) {
	dir := t.TempDir()
	bad := writeFile(t, dir, "bad.yaml", "server:\n  addr: nohost\n  port: 80\n")
	code, out, errOut := scimdEnv(t, nil, "config", "check", "--config", bad)
	if code != exitInvalid || !strings.Contains(errOut, "2 problem(s)") || !strings.Contains(errOut, bad+":2:9: server.addr") ||
		!strings.Contains(errOut, bad+`:3:3: unknown key "port" in server`) || out != "" {
		t.Errorf("bad file: code %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, _, errOut = scimdEnv(t, map[string]string{"SCIMD_CONFIG": bad}, "config", "check")
	if code != exitInvalid || !strings.Contains(errOut, "server.addr") {
		t.Errorf("SCIMD_CONFIG: code %d, stderr %q", code, errOut)
	}
	code, _, errOut = scimdEnv(t, map[string]string{"SCIMD_SERVER_ADDR": "nohost"}, "config", "check")
	if code != exitInvalid || !strings.Contains(errOut, "SCIMD_SERVER_ADDR: server.addr") {
		t.Errorf("environment: code %d, stderr %q", code, errOut)
	}

	good := writeFile(t, dir, "good.yaml", "server:\n  addr: 127.0.0.1:7001\ntenants:\n  - name: acme\n    connectors: [{name: okta}]\n")
	code, out, errOut = scimdEnv(t, nil, "config", "check", "--config", good)
	if code != 0 || !strings.HasPrefix(out, "OK: "+good+" (1 tenant(s))") {
		t.Errorf("good file: code %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, _ = scimdEnv(t, nil, "config", "check")
	if code != 0 || !strings.HasPrefix(out, "OK: no configuration file") {
		t.Errorf("no file: code %d, stdout %q", code, out)
	}
	// The other commands reading the file accept its server sections.
	code, _, errOut = scimdEnv(t, nil, "export", "--tenant", "acme", "--config", good, "--database-url", filepath.Join(dir, "none.db"))
	if strings.Contains(errOut, "problem") {
		t.Errorf("export --config with a server section: code %d, %s", code, errOut)
	}
}

// TestServeFromFile: serve takes everything from the file alone, and
// token create finds the same database through SCIMD_CONFIG.
func TestServeFromFile(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	file := writeFile(t, dir, "scimd.yaml", `server:
  addr: `+addr+`
  baseURL: https://scim.example.com
  shutdownTimeout: 5s
database:
  url: `+filepath.Join(dir, "scimd.db")+`
requestLog:
  rows: 0
tenants:
  - name: acme
    connectors:
      - name: okta
`)
	vars := map[string]string{"SCIMD_CONFIG": file}
	ctx, cancel := context.WithCancel(context.Background())
	e := testEnv(vars)
	var wg sync.WaitGroup
	var code int
	wg.Add(1)
	go func() { defer wg.Done(); code = runEnv(ctx, []string{"serve"}, e) }()
	stop := func() {
		cancel()
		wg.Wait()
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			stop()
			t.Fatalf("serve did not start from the file (exit %d): %s", code, e.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	c, token, errOut := scimdEnv(t, vars, "token", "create", "--tenant", "acme", "--connector", "okta")
	if c != 0 {
		stop()
		t.Fatalf("token create: %d %s", c, errOut)
	}
	tok := strings.TrimSpace(token)
	res, body := request(t, "GET", "http://"+addr+"/scim/v2/acme/Users", tok, "")
	if res.StatusCode != 200 || body["totalResults"] != float64(0) {
		t.Errorf("GET /Users with the token: %d %v", res.StatusCode, body)
	}
	// meta.location is under server.baseURL.
	res, body = request(t, "POST", "http://"+addr+"/scim/v2/acme/Users", tok,
		`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ann@example.com"}`)
	stop()
	if loc := res.Header.Get("Location"); res.StatusCode != 201 || !strings.HasPrefix(loc, "https://scim.example.com/scim/v2/acme/Users/") {
		t.Errorf("POST /Users: %d, Location %q, %v", res.StatusCode, loc, body)
	}
	if code != 0 {
		t.Errorf("serve exited %d: %s", code, e.stderr)
	}
}

// TestREADMEConfiguration holds the README's Configuration table to the
// keys: each has its row, naming its variable, flag and default.
func TestREADMEConfiguration(t *testing.T) {
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(data), "\n## Configuration\n")
	section, _, _ = strings.Cut(section, "\n## ")
	// Its example passes the check.
	_, example, _ := strings.Cut(section, "```yaml\n")
	example, _, _ = strings.Cut(example, "```")
	file := writeFile(t, t.TempDir(), "scimd.yaml", example)
	if code, out, errOut := scimdEnv(t, nil, "config", "check", "--config", file); code != 0 {
		t.Errorf("the README's example: %d %s %s", code, out, errOut)
	}
	rows := 0
	for _, line := range strings.Split(section, "\n") {
		if strings.HasPrefix(line, "| `") {
			rows++
		}
	}
	if rows != len(settings) {
		t.Errorf("the README's Configuration table has %d rows, want one per key: %d", rows, len(settings))
	}
	for _, s := range settings {
		row := ""
		for _, line := range strings.Split(section, "\n") {
			if strings.HasPrefix(line, "| `"+s.key+"` |") {
				row = line
			}
		}
		want := []string{"`" + envName(s.key) + "`"}
		if s.flag != "" {
			want = append(want, "`--"+s.flag+"`")
		}
		if s.def != "" {
			want = append(want, "`"+s.def+"`")
		}
		if s.secret {
			want = append(want, "`"+envName(s.key)+"_FILE`")
		}
		want = append(want, s.aliases...)
		for _, w := range want {
			if !strings.Contains(row, w) {
				t.Errorf("README row of %s %q lacks %s", s.key, row, w)
			}
		}
	}
}
