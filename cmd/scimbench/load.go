package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// runOpts is what run takes beyond the workload: where scimd is, and
// what to measure beside it.
type runOpts struct {
	base, token          string
	dsn, tenant, conn    string // the database, for --with-ref and SQL counts
	serverPID            int
	withRef              bool
	scimd                string // the scimd binary, for the csv scenario
	groupBig, groupEmpty string
	w                    workload
}

func (o *runOpts) flags(fs *flag.FlagSet) {
	fs.StringVar(&o.base, "url", "http://127.0.0.1:8080/scim/v2/bench", "the tenant's SCIM base URL (loopback only)")
	fs.StringVar(&o.token, "token", os.Getenv("SCIMBENCH_TOKEN"), "the connector's bearer token (env SCIMBENCH_TOKEN)")
	fs.StringVar(&o.dsn, "database-url", "", "scimd's database: for --with-ref, the SQL statements per request (PostgreSQL) and csv")
	fs.StringVar(&o.tenant, "tenant", "bench", "tenant (for --with-ref and csv)")
	fs.StringVar(&o.conn, "connector", "okta", "connector of the token (for --with-ref)")
	fs.IntVar(&o.serverPID, "server-pid", 0, "scimd's process id: report its RSS idle before the run and at its peak during it")
	fs.BoolVar(&o.withRef, "with-ref", false, "after the run, measure the database doing the same work raw (ref) and print the ratio")
	fs.StringVar(&o.scimd, "scimd", "scimd", "the scimd binary (csv runs scimd import)")
	fs.StringVar(&o.groupBig, "group-big", "bench-big", "the large group of members and group-read (scimbench seed --groups)")
	fs.StringVar(&o.groupEmpty, "group-empty", "bench-empty", "the empty group of members and group-read")
}

// load runs a scenario against a scimd over HTTP.
func load(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("run", stderr)
	var o runOpts
	o.flags(fs)
	o.w.flags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	_, err := runScenario(ctx, o, stdout)
	return err
}

// outcome is one scenario's figures, for the suite's table.
type outcome struct {
	name      string
	w         workload
	r         result
	walk      *walkResult
	sql, rss  string
	rssIdle   int64 // kB, 0 when not watched
	rssPeak   int64
	refRate   float64 // 0: no reference
	ratio     float64
	compare   string // scenarios that compare two cases: the ratio of their p50s
	loadavg   string
	objectsPS float64 // entra-sync: objects per second
}

// runScenario runs one scenario, with its reference if asked, and prints
// its lines.
func runScenario(ctx context.Context, o runOpts, out io.Writer) (outcome, error) {
	w := o.w
	oc := outcome{name: w.scenario, w: w, loadavg: loadAvg()}
	if w.scenario == "csv" {
		return runCSV(ctx, o, out)
	}
	if err := loopbackOnly(o.base); err != nil {
		return oc, err
	}
	c := &client{base: strings.TrimSuffix(o.base, "/"), token: o.token, http: &http.Client{
		Timeout:   time.Minute,
		Transport: &http.Transport{MaxIdleConnsPerHost: max(w.concurrency, 1), DisableCompression: true},
	}}
	do, err := c.scenario(ctx, o, &oc)
	if err != nil {
		return oc, err
	}
	counter, err := openCounter(ctx, o.dsn)
	if err != nil {
		return oc, err
	}
	defer counter.Close()
	before := counter.read(ctx)
	rss := startRSS(o.serverPID)
	var requests int
	if w.scenario == "walk" {
		r, err := c.walk(ctx, w)
		if err != nil {
			rss.stop()
			return oc, err
		}
		oc.walk, requests = &r, len(r.pages)
	} else if w.scenario == "entra-sync" {
		oc.r, err = c.entraSync(ctx, w)
		requests = int(c.sent.Load())
	} else {
		c.rec = newRecorder()
		oc.r, err = drive(ctx, w, do)
		oc.r.kinds, requests = c.rec, int(c.sent.Load())
	}
	if err != nil {
		rss.stop()
		return oc, err
	}
	oc.rssIdle, oc.rssPeak = rss.stop()
	oc.rss = rss.format()
	oc.sql = counter.perRequest(before, counter.read(ctx), requests)
	if oc.walk != nil {
		reportWalk(out, "scimd", w, *oc.walk)
	} else {
		report(out, "scimd", w, oc.r)
	}
	oc.compare = compare(w.scenario, oc.r.kinds)
	fmt.Fprintf(out, "  %s %s http_requests=%d loadavg=%s%s\n", oc.sql, oc.rss, requests, oc.loadavg, prefixed(" ", oc.compare))
	if o.withRef {
		if err := withRef(ctx, o, &oc, out); err != nil {
			return oc, err
		}
	}
	return oc, nil
}

func prefixed(p, s string) string {
	if s == "" {
		return ""
	}
	return p + s
}

// withRef measures the scenario's reference and the ratio.
func withRef(ctx context.Context, o runOpts, oc *outcome, out io.Writer) error {
	if !hasRef(o.w.scenario) {
		fmt.Fprintf(out, "  ref: none for %s\n", o.w.scenario)
		return nil
	}
	if o.dsn == "" {
		return fmt.Errorf("--with-ref needs --database-url")
	}
	db, err := openRaw(ctx, o.dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	r, walk, err := db.refRun(ctx, o.tenant, o.conn, o.w)
	if err != nil {
		return fmt.Errorf("ref: %w", err)
	}
	if walk != nil {
		reportWalk(out, "ref", o.w, *walk)
		if oc.walk != nil && oc.walk.elapsed > 0 {
			oc.refRate = float64(len(walk.pages)) / walk.elapsed.Seconds()
			oc.ratio = walk.elapsed.Seconds() / oc.walk.elapsed.Seconds()
		}
	} else {
		report(out, "ref", o.w, r)
		oc.refRate = r.rate()
		oc.ratio = oc.r.rate() / oc.refRate
	}
	fmt.Fprintf(out, "  ratio=%.2f (scimd's rate over ref's, same run)\n", oc.ratio)
	return nil
}

// compare is, for scenarios that time a case against its control, the
// ratio of the two p50s: 1.00 means the same cost.
func compare(scenario string, k *recorder) string {
	if k == nil {
		return ""
	}
	var pairs [][2]string
	switch scenario {
	case "members":
		pairs = [][2]string{{"PATCH-big-add", "PATCH-empty-add"}, {"PATCH-big-remove", "PATCH-empty-remove"}}
	case "group-read":
		pairs = [][2]string{{"GET-big-excluded", "GET-empty-excluded"}, {"GET-big-full", "GET-empty-full"}}
	}
	var parts []string
	for _, p := range pairs {
		a, b := summarize(k.get(p[0])), summarize(k.get(p[1]))
		if a.n > 0 && b.n > 0 && b.p50 > 0 {
			parts = append(parts, fmt.Sprintf("%s/%s=%.2f", p[0], p[1], float64(a.p50)/float64(b.p50)))
		}
	}
	return strings.Join(parts, " ")
}

// scenario prepares a scenario (looking up what it needs, untimed) and
// returns its request; nil for walk and entra-sync, which drive themselves.
func (c *client) scenario(ctx context.Context, o runOpts, oc *outcome) (func(ctx context.Context, i int) error, error) {
	w := o.w
	run := fmt.Sprintf("%x", time.Now().UnixNano())
	switch w.scenario {
	case "walk", "entra-sync":
		return nil, nil
	case "post":
		return func(ctx context.Context, i int) error {
			_, err := c.call(ctx, "POST-user", "POST", "/Users", entraUser(run, i), http.StatusCreated)
			return err
		}, nil
	case "get-eq":
		return func(ctx context.Context, i int) error {
			body, err := c.call(ctx, "GET-filter", "GET", "/Users?filter="+url.QueryEscape(eqFilter(w.users, true)), nil, http.StatusOK)
			if err == nil && total(body) != 1 {
				err = fmt.Errorf("lookup found %d users, want 1", total(body))
			}
			return err
		}, nil
	case "filter":
		return func(ctx context.Context, i int) error {
			_, err := c.call(ctx, "GET-filter", "GET", "/Users?filter="+url.QueryEscape(fillFilter(w)), nil, http.StatusOK)
			return err
		}, nil
	case "list-first", "deep":
		start := 1
		if w.scenario == "deep" {
			start = w.startIndex
		}
		path := fmt.Sprintf("/Users?startIndex=%d&count=%d", start, w.count)
		return func(ctx context.Context, i int) error {
			_, err := c.call(ctx, "GET-page", "GET", path, nil, http.StatusOK)
			return err
		}, nil
	case "churn":
		return c.churn(ctx, w, run)
	case "members":
		return c.members(ctx, o)
	case "group-read":
		return c.groupRead(ctx, o)
	}
	return nil, fmt.Errorf("unknown scenario %q: %s", w.scenario, scenarios)
}

const scenarios = "post, get-eq, filter, list-first, deep, walk, entra-sync, churn, members, group-read or csv"

// loopbackOnly refuses to load anything but this machine.
func loopbackOnly(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("--url: %w", err)
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); host == "localhost" || ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("--url %s: scimbench loads loopback addresses only (127.0.0.1, ::1, localhost)", raw)
}

type client struct {
	base, token string
	http        *http.Client
	rec         *recorder
	sent        atomic.Int64 // HTTP requests sent
}

// call sends one request, timing it under kind.
func (c *client) call(ctx context.Context, kind, method, path string, body any, want int) ([]byte, error) {
	t := time.Now()
	out, err := c.do(ctx, method, path, body, want)
	if ctx.Err() == nil {
		c.rec.add(kind, time.Since(t))
	}
	c.sent.Add(1)
	return out, err
}

// do sends one request and reads the whole response; want 0 takes any
// 2xx status.
func (c *client) do(ctx context.Context, method, path string, body any, want int) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	res, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	if err == nil && (want != 0 && res.StatusCode != want || want == 0 && res.StatusCode/100 != 2) {
		err = fmt.Errorf("%s %s: %d, want %s: %.200s", method, path, res.StatusCode, map[bool]string{true: "2xx", false: strconv.Itoa(want)}[want == 0], out)
	}
	return out, err
}

// walk reads all users by startIndex and count, as Okta's import does.
func (c *client) walk(ctx context.Context, w workload) (walkResult, error) {
	var r walkResult
	began := time.Now()
	for start := 1; len(r.pages) < w.requests; start += w.count {
		t := time.Now()
		body, err := c.call(ctx, "GET-page", "GET", fmt.Sprintf("/Users?startIndex=%d&count=%d", start, w.count), nil, http.StatusOK)
		if err != nil {
			return r, err
		}
		r.pages = append(r.pages, time.Since(t))
		n := items(body)
		r.rows += n
		if n < w.count || start-1+n >= total(body) {
			break
		}
	}
	r.elapsed = time.Since(began)
	return r, nil
}

// total and items read totalResults and itemsPerPage from a ListResponse
// without decoding it: scimd writes its head first, keys sorted.
func total(body []byte) int { return headInt(body, `"totalResults":`) }
func items(body []byte) int { return headInt(body, `"itemsPerPage":`) }

func headInt(body []byte, key string) int {
	i := bytes.Index(body, []byte(key))
	if i < 0 {
		return -1
	}
	rest := body[i+len(key):]
	j := bytes.IndexAny(rest, ",}")
	if j < 0 {
		return -1
	}
	n, err := strconv.Atoi(string(rest[:j]))
	if err != nil {
		return -1
	}
	return n
}

// eqFilter is a lookup of a random seeded user; with otherCase, one in
// twenty is in upper case, as ~5% of IdP lookups differ in case.
func eqFilter(users int, otherCase bool) string {
	name := fmt.Sprintf("User%d@example.com", rand.IntN(max(users, 1)))
	if otherCase && rand.IntN(20) == 0 {
		name = strings.ToUpper(name)
	}
	return fmt.Sprintf("userName eq %q", name)
}

func fillFilter(w workload) string {
	return strings.ReplaceAll(w.filter, "{i}", strconv.Itoa(rand.IntN(max(w.users, 1))))
}

// entraUser is a POST /Users body as Entra ID sends it.
func entraUser(run string, i int) map[string]any {
	return entraUserNamed(fmt.Sprintf("bench-%s-%d@example.com", run, i), i)
}

func entraUserNamed(name string, i int) map[string]any {
	return map[string]any{
		"schemas":     []string{"urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"},
		"externalId":  fmt.Sprintf("%08x-0000-4000-8000-%012x", i, time.Now().UnixNano()&0xffffffffffff),
		"userName":    name,
		"active":      true,
		"displayName": "Bench User " + strconv.Itoa(i),
		"title":       "Engineer",
		"emails":      []any{map[string]any{"primary": true, "type": "work", "value": name}},
		"name":        map[string]any{"givenName": "Bench", "familyName": "User" + strconv.Itoa(i), "formatted": "Bench User" + strconv.Itoa(i)},
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": map[string]any{
			"employeeNumber": strconv.Itoa(i), "department": "Engineering",
		},
	}
}

// loadAvg is the 1-minute load average now.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "n/a"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "n/a"
	}
	return f[0]
}
