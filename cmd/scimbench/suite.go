package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"

	"github.com/scimd/scimd/store"
)

// runCSV times scimd import of a generated file of w.requests new users
// (one role each), watching the import's RSS; its reference writes as
// many user rows through the plain driver, 1,000 per multi-row INSERT, in
// one transaction.
func runCSV(ctx context.Context, o runOpts, out io.Writer) (outcome, error) {
	oc := outcome{name: "csv", w: o.w, loadavg: loadAvg()}
	if o.dsn == "" {
		return oc, fmt.Errorf("csv needs --database-url (and --scimd, the binary)")
	}
	dir, err := os.MkdirTemp("", "scimbench-csv")
	if err != nil {
		return oc, err
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "users.csv")
	f, err := os.Create(file)
	if err != nil {
		return oc, err
	}
	run := fmt.Sprintf("%x", time.Now().UnixNano())
	bw := bufio.NewWriter(f)
	bw.WriteString("userId,email,firstName,lastName,roles\n")
	for i := range o.w.requests {
		fmt.Fprintf(bw, "c%s-%d,c%s-%d@example.com,Kim,Number %d,learner\n", run, i, run, i, i)
	}
	if err := bw.Flush(); err != nil {
		return oc, err
	}
	f.Close()
	d, err := time.ParseDuration(o.w.duration)
	if err != nil {
		return oc, fmt.Errorf("--duration: %w", err)
	}
	ictx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	cmd := exec.CommandContext(ictx, o.scimd, "import", "--tenant", o.tenant, "--database-url", o.dsn, file)
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	began := time.Now()
	if err := cmd.Start(); err != nil {
		return oc, err
	}
	rss := startRSS(cmd.Process.Pid)
	err = cmd.Wait()
	_, peak := rss.stop()
	oc.r.elapsed = time.Since(began)
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		peak = max(peak, ru.Maxrss) // kB on Linux
	}
	if err != nil || !strings.Contains(logs.String(), fmt.Sprintf("%d added", o.w.requests)) {
		oc.r.errors = 1
		return oc, fmt.Errorf("scimd import: %v: %.500s", err, logs.String())
	}
	oc.rssPeak = peak
	oc.objectsPS = float64(o.w.requests) / oc.r.elapsed.Seconds()
	oc.rss = "rss_peak=" + mb(peak) + " (scimd import)"
	fmt.Fprintf(out, "scimd csv rows=%d errors=0 time=%.1fs rate=%.0f rows/s %s loadavg=%s\n",
		o.w.requests, oc.r.elapsed.Seconds(), oc.objectsPS, oc.rss, oc.loadavg)
	if !o.withRef {
		return oc, nil
	}
	db, err := openRaw(ctx, o.dsn)
	if err != nil {
		return oc, err
	}
	defer db.Close()
	var tenant int64
	if err := db.QueryRowContext(ctx, "SELECT id FROM tenants WHERE name = "+db.ph(1), o.tenant).Scan(&tenant); err != nil {
		return oc, err
	}
	began = time.Now()
	if err := db.insertUsersMany(ctx, tenant, "ceil"+run, o.w.requests); err != nil {
		return oc, fmt.Errorf("ceiling: %w", err)
	}
	el := time.Since(began)
	oc.refRate = float64(o.w.requests) / el.Seconds()
	oc.ratio = oc.objectsPS / oc.refRate
	fmt.Fprintf(out, "ref csv rows=%d time=%.1fs rate=%.0f rows/s (users rows only, 1,000 per INSERT, one transaction)\n  ratio=%.2f\n",
		o.w.requests, el.Seconds(), oc.refRate, oc.ratio)
	return oc, nil
}

// insertUsersMany writes n user rows in one transaction, 1,000 per
// multi-row INSERT, each row with a CSV user's small document.
func (db *rawDB) insertUsersMany(ctx context.Context, tenant int64, prefix string, n int) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var at any = time.Now().UTC()
	if db.dialect == store.SQLite {
		at = time.Now().UTC().Format("2006-01-02 15:04:05.999999-07:00")
	}
	for lo := 0; lo < n; lo += 1000 {
		var q strings.Builder
		q.WriteString("INSERT INTO users (tenant_id, id, user_name, user_name_folded, display_name, display_name_folded, " +
			"active, status, attrs, version, created_at, updated_at) VALUES ")
		var args []any
		for i := lo; i < min(lo+1000, n); i++ {
			if i > lo {
				q.WriteString(", ")
			}
			q.WriteString("(")
			for k := 1; k <= 12; k++ {
				q.WriteString(db.ph(len(args) + k))
				if k < 12 {
					q.WriteString(", ")
				}
			}
			q.WriteString(")")
			name := fmt.Sprintf("%s-%d@example.com", prefix, i)
			attrs := fmt.Sprintf(`{"userName":%q,"active":true,"displayName":"Kim Number %d","name":{"givenName":"Kim","familyName":"Number %d"},"emails":[{"value":%q,"type":"work","primary":true}]}`, name, i, i, name)
			args = append(args, tenant, uuid.NewString(), name, name, fmt.Sprintf("Kim Number %d", i), fmt.Sprintf("kim number %d", i),
				true, "active", attrs, 1, at, at)
		}
		if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// suiteOpts is what suite takes.
type suiteOpts struct {
	scimd, dsn, addr string
	users, small     int
	members          int
	concurrency      int
	requests         int
	rate             float64
	walkPages        int
	csvRows          int
	steps            string
}

// suite runs the plan against one database: it migrates and seeds it
// (unless already seeded), starts scimd serve on loopback, runs each
// scenario with its reference back to back, stops the server and prints
// one table.
func suite(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("suite", stderr)
	var s suiteOpts
	fs.StringVar(&s.scimd, "scimd", "scimd", "the scimd binary")
	fs.StringVar(&s.dsn, "database-url", "", "an empty database (or one this suite seeded): postgres:// URL or sqlite:FILE")
	fs.StringVar(&s.addr, "addr", "127.0.0.1:18931", "where the suite's scimd listens (loopback)")
	fs.IntVar(&s.users, "users", 100000, "users of tenant bench (the large dataset)")
	fs.IntVar(&s.small, "small", 10000, "users of tenant bench10k (the small dataset, for get-eq's size curve)")
	fs.IntVar(&s.members, "members", 100000, "members of group bench-big (at most --users)")
	fs.IntVar(&s.concurrency, "concurrency", 8, "clients of the concurrent runs")
	fs.IntVar(&s.requests, "requests", 2000, "requests of each run")
	fs.Float64Var(&s.rate, "rate", 100, "churn's open-loop arrival rate per second")
	fs.IntVar(&s.walkPages, "walk-pages", 200, "pages of the walk (count=100)")
	fs.IntVar(&s.csvRows, "csv-rows", 0, "rows of the csv import step (0: skip it)")
	fs.StringVar(&s.steps, "steps", "post,get-eq,filter,list-first,deep,walk,group-read,members,entra-sync,churn,csv", "steps to run, in this order")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if s.dsn == "" {
		return fmt.Errorf("--database-url is required")
	}
	host, _, err := net.SplitHostPort(s.addr)
	if err != nil {
		return fmt.Errorf("--addr: %w", err)
	}
	if err := loopbackOnly("http://" + host); err != nil {
		return err
	}
	scimd := func(args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, s.scimd, append(args, "--database-url", s.dsn)...)
		var errs strings.Builder
		cmd.Stderr = &errs
		out, err := cmd.Output()
		if err != nil {
			return "", fmt.Errorf("scimd %s: %v: %s", args[0], err, errs.String())
		}
		return strings.TrimSpace(string(out)), nil
	}
	if _, err := scimd("migrate"); err != nil {
		return err
	}
	// A connector holds two active tokens at most: a suite run again on
	// its database revokes the tokens earlier runs made.
	list, err := scimd("token", "list")
	if err != nil {
		return err
	}
	for _, line := range strings.Split(list, "\n") {
		f := strings.Fields(line)
		if len(f) >= 6 && (f[1] == "bench" || f[1] == "bench10k") && f[2] == "okta" && f[5] == "active" {
			if _, err := scimd("token", "revoke", f[0]); err != nil {
				return err
			}
		}
	}
	tokens := map[string]string{}
	for _, t := range []string{"bench", "bench10k"} {
		if tokens[t], err = scimd("token", "create", "--tenant", t, "--connector", "okta"); err != nil {
			return err
		}
	}
	if err := s.seed(ctx, stdout, stderr); err != nil {
		return err
	}

	// The server, ours to stop.
	logf, err := os.CreateTemp("", "scimbench-scimd-*.log")
	if err != nil {
		return err
	}
	defer logf.Close()
	// --rate-limit 0: the suite measures the server, not the per-connector
	// limit (100 requests/s by default), which would answer most of its
	// requests 429; --ops-addr off: a second scimd's ops port may be taken.
	srv := exec.Command(s.scimd, "serve", "--addr", s.addr, "--database-url", s.dsn, "--rate-limit", "0", "--ops-addr", "off")
	srv.Stdout, srv.Stderr = logf, logf
	if err := srv.Start(); err != nil {
		return err
	}
	defer func() {
		srv.Process.Signal(syscall.SIGTERM)
		srv.Wait()
	}()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if c, err := net.Dial("tcp", s.addr); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("scimd serve did not listen on %s in 30s (log: %s)", s.addr, logf.Name())
		}
	}
	time.Sleep(time.Second)
	idle := procStatus(srv.Process.Pid, "VmRSS")
	fmt.Fprintf(stdout, "scimd serve pid %d on %s, idle RSS %s, database %s, loadavg %s\n",
		srv.Process.Pid, s.addr, mb(idle), redact(s.dsn), loadAvg())

	base := func(tenant string) runOpts {
		o := runOpts{base: "http://" + s.addr + "/scim/v2/" + tenant, token: tokens[tenant], dsn: s.dsn, tenant: tenant,
			conn: "okta", serverPID: srv.Process.Pid, withRef: true, scimd: s.scimd, groupBig: "bench-big", groupEmpty: "bench-empty"}
		o.w = workload{concurrency: 1, requests: s.requests, duration: "120s", users: s.users, count: 100, startIndex: 1,
			filter: `userName sw "user{i}"`, groups: 10, groupSize: 100, pool: 1000}
		return o
	}
	type step struct {
		label string
		o     runOpts
	}
	var steps []step
	for _, name := range strings.Split(s.steps, ",") {
		o := base("bench")
		o.w.scenario = name
		c1, cn := o, o
		cn.w.concurrency = s.concurrency
		switch name {
		case "post", "list-first":
			steps = append(steps, step{name + " c=1", c1}, step{fmt.Sprintf("%s c=%d", name, s.concurrency), cn})
		case "get-eq":
			small := base("bench10k")
			small.w.scenario, small.w.users = name, s.small
			steps = append(steps, step{fmt.Sprintf("get-eq c=1 %d users", s.users), c1},
				step{fmt.Sprintf("get-eq c=1 %d users", s.small), small},
				step{fmt.Sprintf("get-eq c=%d %d users", s.concurrency, s.users), cn})
		case "filter":
			c1.w.filter, c1.w.users = `name.familyName eq "Family{i}"`, min(s.users, 50000)
			steps = append(steps, step{"filter name.familyName eq c=1", c1})
		case "deep":
			c1.w.requests = min(s.requests, 300)
			last := c1
			last.w.startIndex = max(s.users-99, 1)
			steps = append(steps, step{"deep startIndex=1", c1}, step{fmt.Sprintf("deep startIndex=%d", last.w.startIndex), last})
		case "walk":
			c1.w.requests = s.walkPages
			steps = append(steps, step{fmt.Sprintf("walk %d pages", s.walkPages), c1})
		case "group-read":
			full := c1
			full.w.requests, full.w.fullEvery = 20, 1
			steps = append(steps, step{"group-read excluded", c1}, step{"group-read full", full})
		case "members":
			c1.w.pool = 250
			steps = append(steps, step{"members c=1", c1})
		case "entra-sync":
			cn.w.requests = s.requests / 2
			steps = append(steps, step{fmt.Sprintf("entra-sync c=%d", s.concurrency), cn})
		case "churn":
			open := o
			open.w.rate, open.w.concurrency = s.rate, 64
			steps = append(steps, step{fmt.Sprintf("churn open-loop %.0f/s", s.rate), open},
				step{fmt.Sprintf("churn c=%d", s.concurrency), cn})
		case "csv":
			if s.csvRows > 0 {
				c1.w.requests, c1.w.duration = s.csvRows, "2h"
				steps = append(steps, step{fmt.Sprintf("csv %d rows", s.csvRows), c1})
			}
		default:
			return fmt.Errorf("--steps: unknown step %q", name)
		}
	}
	var rows []outcome
	var labels []string
	for _, st := range steps {
		fmt.Fprintf(stdout, "== %s\n", st.label)
		oc, err := runScenario(ctx, st.o, stdout)
		if err != nil {
			return fmt.Errorf("%s: %w", st.label, err)
		}
		if st.o.w.scenario == "deep" && len(rows) > 0 && rows[len(rows)-1].name == "deep" {
			a, b := summarize(oc.r.latencies), summarize(rows[len(rows)-1].r.latencies)
			if b.p50 > 0 {
				oc.compare = fmt.Sprintf("deep/first p50=%.2f", float64(a.p50)/float64(b.p50))
			}
		}
		rows = append(rows, oc)
		labels = append(labels, st.label)
	}
	fmt.Fprintf(stdout, "\nscimd idle RSS %s; after the suite %s (VmHWM %s)\n", mb(idle),
		mb(procStatus(srv.Process.Pid, "VmRSS")), mb(procStatus(srv.Process.Pid, "VmHWM")))
	tw := tabwriter.NewWriter(stdout, 0, 0, 1, ' ', 0)
	fmt.Fprintln(tw, "step\tn\terrors\trate/s\tp50\tp99\tp99.9\tsql/req\tref/s\tratio\trss peak\tload\tcompare")
	for i, oc := range rows {
		lat := oc.r.latencies
		if oc.walk != nil {
			lat = oc.walk.pages
		}
		sm := summarize(lat)
		n := max(sm.n, len(lat))
		if oc.name == "csv" {
			n, oc.compare = oc.w.requests, "rss: scimd import's"
		}
		ref, ratio := "-", "-"
		if oc.refRate > 0 {
			ref, ratio = fmt.Sprintf("%.0f", oc.refRate), fmt.Sprintf("%.2f", oc.ratio)
		}
		p := func(d time.Duration) string {
			if sm.n == 0 {
				return "-"
			}
			return ms(d)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.0f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", labels[i], n, oc.r.errors, oc.rate(),
			p(sm.p50), p(sm.p99), p(sm.p999), sqlCell(oc.sql), ref, ratio, mb(oc.rssPeak), oc.loadavg, oc.compare)
	}
	return tw.Flush()
}

// sqlCell is a perRequest figure for the table: "1.02 xacts" or "n/a".
func sqlCell(s string) string {
	what, per, ok := strings.Cut(s, "/req=")
	if !ok || per == "n/a" {
		return "n/a"
	}
	return per + " " + what
}

// redact hides a database URL's password.
func redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		return u.Redacted()
	}
	return dsn
}

// rate is the outcome's throughput: rows or objects per second where the
// scenario counts those, pages for a walk, else requests.
func (oc outcome) rate() float64 {
	switch {
	case oc.objectsPS > 0:
		return oc.objectsPS
	case oc.walk != nil:
		return float64(len(oc.walk.pages)) / oc.walk.elapsed.Seconds()
	}
	return oc.r.rate()
}

// seed fills tenants bench and bench10k and the two groups, unless they
// are there already.
func (s suiteOpts) seed(ctx context.Context, stdout, stderr io.Writer) error {
	db, err := openRaw(ctx, s.dsn)
	if err != nil {
		return err
	}
	have := func(tenant string) int {
		var n int
		db.QueryRowContext(ctx, "SELECT count(*) FROM users AS u JOIN tenants AS t ON t.id = u.tenant_id WHERE t.name = "+db.ph(1), tenant).Scan(&n)
		return n
	}
	big, small := have("bench"), have("bench10k")
	db.Close()
	if big < s.users {
		if err := seed(ctx, []string{"--database-url", s.dsn, "--tenant", "bench", "--users", fmt.Sprint(s.users - big), "--from", fmt.Sprint(big),
			"--groups", fmt.Sprintf("bench-big:%d,bench-empty:0", min(s.members, s.users))}, stdout, stderr); err != nil {
			return err
		}
	}
	if small < s.small {
		if err := seed(ctx, []string{"--database-url", s.dsn, "--tenant", "bench10k", "--users", fmt.Sprint(s.small - small), "--from", fmt.Sprint(small)}, stdout, stderr); err != nil {
			return err
		}
	}
	return nil
}
