package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/scimd/scimd/store/storetest"
)

// The tests here run scimd as an operator deploys it: the built binary,
// several processes on one PostgreSQL database.

var built struct {
	once sync.Once
	dir  string
	bin  string
	err  error
}

// scimdBinary builds scimd once per test run; TestMain removes it.
func scimdBinary(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		built.dir, built.err = os.MkdirTemp("", "scimd-bin-")
		if built.err != nil {
			return
		}
		built.bin = filepath.Join(built.dir, "scimd")
		if out, err := exec.Command("go", "build", "-o", built.bin, ".").CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.bin
}

func removeBinary() {
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
}

// processEnv is this process's environment without SCIMD_ variables, so
// that a developer's settings do not reach the processes a test starts.
func processEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SCIMD_") {
			env = append(env, kv)
		}
	}
	return env
}

// listening finds serve's address in its log line, JSON (stderr is no
// terminal here) or text.
var listening = regexp.MustCompile(`"msg":"scimd listening","url":"(https?://[^"]+)"|msg="scimd listening" url=(https?://\S+)`)

// startServe starts `scimd serve` on a free loopback port and returns its
// base URL once it listens; the process is stopped (SIGTERM) when the test
// ends, and its log shown if the test failed. It may run on any goroutine:
// it reports its failure rather than end the test.
func startServe(t *testing.T, bin, dsn string, args ...string) (string, error) {
	cmd := exec.Command(bin, append([]string{"serve", "--addr", "127.0.0.1:0", "--database-url", dsn}, args...)...)
	cmd.Env = processEnv()
	stderr := &lockedBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		return "", err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-exited
			t.Errorf("scimd serve did not stop on SIGTERM within 30 s")
		}
		if t.Failed() {
			t.Logf("scimd serve log:\n%s", tail(stderr.String(), 40))
		}
	})
	deadline := time.After(2 * time.Minute)
	for {
		if m := listening.FindStringSubmatch(stderr.String()); m != nil {
			return m[1] + m[2], nil
		}
		select {
		case err := <-exited:
			exited <- err
			return "", fmt.Errorf("scimd serve exited: %v\n%s", err, stderr.String())
		case <-deadline:
			return "", fmt.Errorf("scimd serve not listening after 2 minutes:\n%s", stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// TestMigrateConcurrently runs `scimd migrate` from three processes at once
// on a fresh PostgreSQL database, as a Helm hook Job and pods starting
// together would: all succeed, and every migration is applied once, by one
// of them, which alone says so.
func TestMigrateConcurrently(t *testing.T) {
	bin := scimdBinary(t)
	for round := range 3 { // the race is a race: several fresh databases
		dsn := storetest.PostgresDSN(t)
		type result struct {
			out string
			err error
		}
		results := make(chan result, 3)
		start := make(chan struct{})
		for range 3 {
			go func() {
				<-start
				cmd := exec.Command(bin, "migrate", "--database-url", dsn)
				cmd.Env = processEnv()
				out, err := cmd.CombinedOutput()
				results <- result{string(out), err}
			}()
		}
		close(start)
		var applied []string
		for range 3 {
			r := <-results
			if r.err != nil {
				t.Fatalf("round %d: scimd migrate: %v\n%s", round, r.err, r.out)
			}
			if !strings.Contains(r.out, "schema is up to date") {
				t.Fatalf("round %d: scimd migrate said %q", round, r.out)
			}
			for _, line := range strings.Split(r.out, "\n") {
				if name, ok := strings.CutPrefix(line, "applied "); ok {
					applied = append(applied, name)
				}
			}
		}
		files, err := filepath.Glob("../../store/migrations/postgres/*.up.sql")
		if err != nil || len(files) == 0 {
			t.Fatalf("migration files: %v %v", files, err)
		}
		var want []string
		for _, f := range files {
			want = append(want, strings.SplitN(filepath.Base(f), ".", 2)[0])
		}
		sort.Strings(applied)
		sort.Strings(want)
		if !slices.Equal(applied, want) {
			t.Fatalf("round %d: the three processes said they applied %q, want each of %q once", round, applied, want)
		}
		db := openSQL(t, dsn)
		var rows, names int
		if err := db.QueryRow(`SELECT count(*), count(DISTINCT name) FROM schema_migrations`).Scan(&rows, &names); err != nil {
			t.Fatal(err)
		}
		if rows != len(want) || names != len(want) {
			t.Fatalf("round %d: schema_migrations holds %d rows of %d names, want %d", round, rows, names, len(want))
		}
	}
}

func openSQL(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestThreeReplicas starts three `scimd serve` processes on one PostgreSQL
// database (they migrate it together, at start) and drives an identity
// provider's concurrent traffic at all three; see driveReplicas.
func TestThreeReplicas(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	// 16 connections each: three replicas at the default 32 would take
	// nearly all of a default server's 100, which other tests share.
	bases := startReplicas(t, 3, withParam(dsn, "pool_max_conns", "16"))
	token := newToken(t, dsn, "acme", "okta")
	driveReplicas(t, bases, token, dsn)
}

// withParam is dsn with the URL parameter k=v.
func withParam(dsn, k, v string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		panic(err)
	}
	q := u.Query()
	q.Set(k, v)
	u.RawQuery = q.Encode()
	return u.String()
}

// startReplicas starts n `scimd serve` processes on dsn at once, so that
// they migrate a fresh database together, and returns their base URLs.
func startReplicas(t *testing.T, n int, dsn string, args ...string) []string {
	t.Helper()
	bin := scimdBinary(t)
	bases := make([]string, n)
	errc := make(chan error, n)
	for i := range n {
		go func() {
			var err error
			bases[i], err = startServe(t, bin, dsn, args...)
			errc <- err
		}()
	}
	var failed []error
	for range n { // all of them: a late one would register its cleanup after the test
		if err := <-errc; err != nil {
			failed = append(failed, err)
		}
	}
	if len(failed) > 0 {
		t.Fatal(errors.Join(failed...))
	}
	return bases
}

// scimClient sends SCIM requests from many goroutines; it never calls
// t.Fatal, which must not run outside the test's goroutine.
type scimClient struct {
	token string
	http  *http.Client
}

type answer struct {
	status int
	etag   string
	body   map[string]any
	raw    string
}

func (c scimClient) do(method, url, etag, body string) (answer, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return answer{}, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/scim+json")
	if etag != "" {
		req.Header.Set("If-Match", etag)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return answer{}, fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return answer{}, fmt.Errorf("%s %s: %w", method, url, err)
	}
	a := answer{status: res.StatusCode, etag: res.Header.Get("ETag"), raw: string(raw)}
	if len(raw) > 0 {
		json.Unmarshal(raw, &a.body)
	}
	return a, nil
}

const (
	userSchema  = `"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"]`
	groupSchema = `"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"]`
	patchSchema = `"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"]`
)

// createOnAll POSTs n resources to path (below /scim/v2/acme) from every
// replica at once, body(i, replica) each, and returns their ids: of each
// resource's POSTs one must answer 201 and the others 409 uniqueness.
func createOnAll(t *testing.T, c scimClient, bases []string, n int, path string, body func(i, replica int) string) []string {
	t.Helper()
	ids := make([]string, n)
	var failures errs
	var wg sync.WaitGroup
	for i := range n {
		for r := range bases {
			wg.Go(func() {
				a, err := c.do("POST", bases[r]+"/scim/v2/acme"+path, "", body(i, r))
				switch {
				case err != nil:
					failures.add("POST %s %d: %v", path, i, err)
				case a.status == http.StatusCreated:
					failures.mu.Lock()
					if ids[i] != "" {
						failures.list = append(failures.list, fmt.Sprintf("%s %d created twice: %s and %v", path, i, ids[i], a.body["id"]))
					}
					ids[i], _ = a.body["id"].(string)
					failures.mu.Unlock()
				case a.status == http.StatusConflict && a.body["scimType"] == "uniqueness":
				default:
					failures.add("POST %s %d on replica %d: %d %s", path, i, r, a.status, a.raw)
				}
			})
		}
	}
	wg.Wait()
	failures.check(t, "POST "+path)
	for i, id := range ids {
		if id == "" {
			t.Fatalf("%s %d: no replica answered 201", path, i)
		}
	}
	return ids
}

// errs collects the failures of many goroutines, for the test's goroutine
// to report.
type errs struct {
	mu   sync.Mutex
	list []string
}

func (e *errs) add(format string, args ...any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.list = append(e.list, fmt.Sprintf(format, args...))
}

func (e *errs) check(t *testing.T, phase string) {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.list) == 0 {
		return
	}
	shown := e.list
	if len(shown) > 20 {
		shown = shown[:20]
	}
	t.Fatalf("%s: %d failures, the first:\n%s", phase, len(e.list), strings.Join(shown, "\n"))
}

// driveReplicas is an identity provider's concurrent traffic at the
// replicas bases, then an account of the database dsn against what the
// replicas answered:
//
//   - every user is POSTed by all replicas at once, each with a different
//     title: one 201, the others 409 uniqueness, and one row;
//   - pairs of users are renamed to one new userName at once on two
//     replicas: one 200, one 409, and the name held once;
//   - every group is POSTed by all replicas at once: one group;
//   - workers PATCH member adds and removes on the same groups through
//     every replica at once (each (group, user) pair belongs to one worker,
//     so each PATCH is a change): the members in the database are those the
//     successful PATCHes leave;
//   - meanwhile each group is renamed again and again with If-Match,
//     reading it again after a 412: the last rename's name holds;
//   - every successful write has its audit event, and no other event is
//     there;
//   - every replica reads the same members and names.
func driveReplicas(t *testing.T, bases []string, token, dsn string) {
	t.Helper()
	c := scimClient{token: token, http: &http.Client{Timeout: time.Minute}}
	const (
		users   = 36
		groups  = 4
		workers = 12
		renames = 6
	)
	ep := func(replica int, path string) string { return bases[replica%len(bases)] + "/scim/v2/acme" + path }
	var failures errs
	started := time.Now()

	// Users, each POSTed by every replica at once.
	userIDs := createOnAll(t, c, bases, users, "/Users", func(u, r int) string {
		return fmt.Sprintf(`{%s,"userName":"user%02d@example.com","title":"via replica %d"}`, userSchema, u, r)
	})
	var wg sync.WaitGroup

	// Renames of two users to one name, on two replicas at once.
	userNames := make([]string, users)
	for u := range users {
		userNames[u] = fmt.Sprintf("user%02d@example.com", u)
	}
	for pair := range users / 2 {
		winner := make(chan int, 2)
		for _, u := range []int{pair, pair + users/2} {
			wg.Go(func() {
				body := fmt.Sprintf(`{%s,"Operations":[{"op":"replace","path":"userName","value":"renamed%02d@example.com"}]}`, patchSchema, pair)
				a, err := c.do("PATCH", ep(u, "/Users/"+userIDs[u]), "", body)
				switch {
				case err != nil:
					failures.add("rename user%02d: %v", u, err)
				case a.status == http.StatusOK || a.status == http.StatusNoContent:
					winner <- u
				case a.status == http.StatusConflict && a.body["scimType"] == "uniqueness":
				default:
					failures.add("rename user%02d: %d %s", u, a.status, a.raw)
				}
			})
		}
		wg.Wait()
		close(winner)
		var won []int
		for u := range winner {
			won = append(won, u)
		}
		if len(won) != 1 {
			failures.add("renamed%02d: %d renames succeeded (users %v), want 1", pair, len(won), won)
			continue
		}
		userNames[won[0]] = fmt.Sprintf("renamed%02d@example.com", pair)
	}
	failures.check(t, "user renames")

	// Groups, each POSTed by every replica at once.
	groupIDs := createOnAll(t, c, bases, groups, "/Groups", func(g, r int) string {
		return fmt.Sprintf(`{%s,"displayName":"Group %d","externalId":"g%d-r%d"}`, groupSchema, g, g, r)
	})

	// Member PATCHes from every replica, and renames with If-Match.
	type pair struct{ g, u int }
	members := map[pair]bool{}         // the model: what the successful PATCHes leave
	groupWrites := make([]int, groups) // successful changes per group
	groupNames := make([]string, groups)
	var model sync.Mutex
	stale := 0 // renames answered 412, read again and retried
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 13))
			var mine []pair
			for g := range groups {
				for u := w; u < users; u += workers {
					mine = append(mine, pair{g, u})
				}
			}
			ops := make([]int, len(mine)) // PATCHes each pair gets: 1 to 4
			for i := range ops {
				ops[i] = 1 + rng.IntN(4)
			}
			for round := 0; ; round++ {
				any := false
				for i, p := range mine {
					if round >= ops[i] {
						continue
					}
					any = true
					var body string
					if round%2 == 0 {
						body = fmt.Sprintf(`{%s,"Operations":[{"op":"add","path":"members","value":[{"value":%q}]}]}`, patchSchema, userIDs[p.u])
					} else {
						path, _ := json.Marshal(fmt.Sprintf(`members[value eq "%s"]`, userIDs[p.u]))
						body = fmt.Sprintf(`{%s,"Operations":[{"op":"remove","path":%s}]}`, patchSchema, path)
					}
					r := rng.IntN(len(bases))
					a, err := c.do("PATCH", ep(r, "/Groups/"+groupIDs[p.g]+"?excludedAttributes=members"), "", body)
					if err != nil || a.status != http.StatusOK && a.status != http.StatusNoContent {
						failures.add("member PATCH of group %d, user %d on replica %d: %v %d %s", p.g, p.u, r, err, a.status, a.raw)
						return
					}
					model.Lock()
					members[p] = round%2 == 0
					groupWrites[p.g]++
					model.Unlock()
				}
				if !any {
					return
				}
			}
		})
	}
	for g := range groups {
		wg.Go(func() {
			groupNames[g] = fmt.Sprintf("Group %d", g)
			for n := range renames {
				name := fmt.Sprintf("Group %d, name %d", g, n+1)
				for attempt := 0; ; attempt++ {
					r := (g + n + attempt) % len(bases)
					got, err := c.do("GET", ep(r, "/Groups/"+groupIDs[g]+"?excludedAttributes=members"), "", "")
					if err != nil || got.status != http.StatusOK || got.etag == "" {
						failures.add("GET group %d: %v %d ETag %q", g, err, got.status, got.etag)
						return
					}
					body := fmt.Sprintf(`{%s,"Operations":[{"op":"replace","path":"displayName","value":%q}]}`, patchSchema, name)
					a, err := c.do("PATCH", ep(r+1, "/Groups/"+groupIDs[g]+"?excludedAttributes=members"), got.etag, body)
					if err != nil {
						failures.add("rename group %d: %v", g, err)
						return
					}
					if a.status == http.StatusPreconditionFailed && attempt < 50 {
						model.Lock()
						stale++
						model.Unlock()
						continue // a member PATCH came between: read it again
					}
					if a.status != http.StatusOK && a.status != http.StatusNoContent {
						failures.add("rename group %d to %q: %d %s", g, name, a.status, a.raw)
						return
					}
					model.Lock()
					groupNames[g] = name
					groupWrites[g]++
					model.Unlock()
					break
				}
			}
		})
	}
	wg.Wait()
	failures.check(t, "member PATCHes and renames")
	patches := 0
	for _, n := range groupWrites {
		patches += n
	}
	t.Logf("%d replicas: %d user POSTs, %d user renames tried, %d group POSTs, %d group PATCHes (and %d renames answered 412) in %v",
		len(bases), users*len(bases), users, groups*len(bases), patches, stale, time.Since(started).Round(time.Millisecond))

	// The database against the model.
	db := openSQL(t, dsn)
	ctx := context.Background()
	const acme = `(SELECT id FROM tenants WHERE name = 'acme')` // other tenants' traffic is not this workload's
	var dupes int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT user_name_folded FROM users WHERE tenant_id = `+acme+` GROUP BY user_name_folded HAVING count(*) > 1) d`).Scan(&dupes); err != nil {
		t.Fatal(err)
	}
	rows, err := db.QueryContext(ctx, `SELECT id::text, user_name FROM users WHERE tenant_id = `+acme)
	if err != nil {
		t.Fatal(err)
	}
	gotUsers := map[string]string{}
	for rows.Next() {
		var id, name string
		if err := rows.Scan(&id, &name); err != nil {
			t.Fatal(err)
		}
		gotUsers[id] = name
	}
	rows.Close()
	if dupes != 0 || len(gotUsers) != users {
		t.Errorf("users: %d rows, %d userNames held twice; want %d rows, none twice", len(gotUsers), dupes, users)
	}
	for u, id := range userIDs {
		if gotUsers[id] != userNames[u] {
			t.Errorf("user %s: userName %q, want %q", id, gotUsers[id], userNames[u])
		}
	}
	var gotGroups int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM groups WHERE tenant_id = `+acme).Scan(&gotGroups); err != nil {
		t.Fatal(err)
	}
	if gotGroups != groups {
		t.Errorf("%d groups, want %d", gotGroups, groups)
	}
	for g, id := range groupIDs {
		var name string
		if err := db.QueryRowContext(ctx, `SELECT display_name FROM groups WHERE id = $1`, id).Scan(&name); err != nil {
			t.Fatal(err)
		}
		if name != groupNames[g] {
			t.Errorf("group %d: displayName %q, want %q (a lost rename)", g, name, groupNames[g])
		}
	}
	want := map[string][]string{}
	for p, in := range members {
		if in {
			want[groupIDs[p.g]] = append(want[groupIDs[p.g]], userIDs[p.u])
		}
	}
	if len(want) == 0 {
		t.Fatal("the workload left no group with members: it checks nothing")
	}
	got := map[string][]string{}
	rows, err = db.QueryContext(ctx, `SELECT g.id::text, u.id::text FROM group_users m JOIN groups g ON g.pk = m.group_pk JOIN users u ON u.pk = m.user_pk WHERE g.tenant_id = `+acme)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var g, u string
		if err := rows.Scan(&g, &u); err != nil {
			t.Fatal(err)
		}
		got[g] = append(got[g], u)
	}
	rows.Close()
	for _, id := range groupIDs {
		slices.Sort(want[id])
		slices.Sort(got[id])
		if !slices.Equal(got[id], want[id]) {
			t.Errorf("group %s: members %v, want %v (lost or extra memberships)", id, got[id], want[id])
		}
	}

	// The audit log: one event per successful write.
	wantEvents := map[string]int{}
	for _, id := range userIDs {
		wantEvents["User create "+id]++
	}
	for u, name := range userNames {
		if strings.HasPrefix(name, "renamed") {
			wantEvents["User patch "+userIDs[u]]++
		}
	}
	for g, id := range groupIDs {
		wantEvents["Group create "+id]++
		if groupWrites[g] > 0 {
			wantEvents["Group patch "+id] += groupWrites[g]
		}
	}
	gotEvents := map[string]int{}
	rows, err = db.QueryContext(ctx, `SELECT resource_type, action, resource_id, count(*) FROM audit_events
		WHERE tenant_id = `+acme+` AND resource_type IN ('User', 'Group') GROUP BY 1, 2, 3`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var typ, action, id string
		var n int
		if err := rows.Scan(&typ, &action, &id, &n); err != nil {
			t.Fatal(err)
		}
		gotEvents[typ+" "+action+" "+id] = n
	}
	rows.Close()
	for k, n := range wantEvents {
		if gotEvents[k] != n {
			t.Errorf("audit: %d events %q, want %d", gotEvents[k], k, n)
		}
	}
	for k, n := range gotEvents {
		if _, ok := wantEvents[k]; !ok {
			t.Errorf("audit: %d events %q, want none", n, k)
		}
	}

	// Every replica reads the same.
	for r := range bases {
		for g, id := range groupIDs {
			a, err := c.do("GET", ep(r, "/Groups/"+id), "", "")
			if err != nil || a.status != http.StatusOK {
				t.Fatalf("GET group on replica %d: %v %d %s", r, err, a.status, a.raw)
			}
			var ids []string
			list, _ := a.body["members"].([]any)
			for _, m := range list {
				ids = append(ids, m.(map[string]any)["value"].(string))
			}
			slices.Sort(ids)
			if a.body["displayName"] != groupNames[g] || !slices.Equal(ids, want[id]) {
				t.Errorf("replica %d reads group %d as %v with %d members, want %q with %d", r, g, a.body["displayName"], len(ids), groupNames[g], len(want[id]))
			}
		}
	}
}
