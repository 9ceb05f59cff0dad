package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	filter "github.com/scim2/filter-parser/v2"

	"github.com/scimd/scimd/store"
)

// maxResults is the page scimd serves when the request names no count
// (scim.Config's default), as for a userName eq lookup.
const maxResults = 200

// reference runs the SQL scimd runs for a scenario through the plain
// driver: the database's own speed at the same work.
func reference(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("ref", stderr)
	dsn := fs.String("database-url", "", "scimd's database: a postgres:// URL or an SQLite file")
	tenant := fs.String("tenant", "bench", "tenant")
	connector := fs.String("connector", "okta", "connector")
	var w workload
	w.flags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	db, err := openRaw(ctx, *dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	r, walk, err := db.refRun(ctx, *tenant, *connector, w)
	if err != nil {
		return err
	}
	if walk != nil {
		reportWalk(stdout, "ref", w, *walk)
	} else {
		report(stdout, "ref", w, r)
	}
	return nil
}

// hasRef says whether ref measures a scenario.
func hasRef(scenario string) bool {
	switch scenario {
	case "post", "get-eq", "filter", "list-first", "walk", "entra-sync":
		return true
	}
	return false
}

// refRun measures the database doing a scenario's work raw: a walk's
// pages, or w.requests units of work.
func (db *rawDB) refRun(ctx context.Context, tenant, connector string, w workload) (result, *walkResult, error) {
	to, err := db.principal(ctx, tenant, connector)
	if err != nil {
		return result{}, nil, err
	}
	// The statement scimd runs for a list without projection: with each
	// user's groups, and attrs read as text for splicing.
	query := store.Query{TenantID: to.tenant, ConnectorID: to.connector, StartIndex: 1, Count: w.count,
		Groups: true, RawAttrs: true}
	var statements [][]string // each request runs one of these lists
	switch w.scenario {
	case "walk":
		r, err := db.walk(ctx, w, query)
		return result{}, &r, err
	case "post", "entra-sync":
		// A single-row autocommitted insert of the same ~1 KB user
		// (entra-sync: its lookup, then the insert), into scimd's users
		// table with its indexes and email trigger.
		run := fmt.Sprintf("ref-%x", time.Now().UnixNano())
		r, err := drive(ctx, w, func(ctx context.Context, i int) error {
			if w.scenario == "entra-sync" {
				page, _, err := db.usersSQL(query, fmt.Sprintf("userName eq %q", fmt.Sprintf("%s-%d@example.com", run, i)))
				if err != nil {
					return err
				}
				if _, err := db.read(ctx, page); err != nil {
					return err
				}
			}
			return db.insertUser(ctx, to.tenant, fmt.Sprintf("%s-%d@example.com", run, i), i)
		})
		return r, nil, err
	case "get-eq", "filter":
		// Build the statements before timing: the reference measures the
		// database, not the SQL builder.
		query.Count = maxResults
		for range 1000 {
			text := eqFilter(w.users, true)
			if w.scenario == "filter" {
				text = fillFilter(w)
			}
			page, _, err := db.usersSQL(query, text)
			if err != nil {
				return result{}, nil, err
			}
			statements = append(statements, []string{page})
		}
	case "list-first":
		page, total, err := db.usersSQL(query, "")
		if err != nil {
			return result{}, nil, err
		}
		statements = append(statements, []string{page, total})
	default:
		return result{}, nil, fmt.Errorf("ref has no scenario %q: post, entra-sync, get-eq, filter, list-first or walk", w.scenario)
	}
	r, err := drive(ctx, w, func(ctx context.Context, i int) error {
		for _, s := range statements[i%len(statements)] {
			if _, err := db.read(ctx, s); err != nil {
				return err
			}
		}
		return nil
	})
	return r, nil, err
}

// insertUser inserts one user row as a plain driver would, autocommitted.
// SQLite's writes take turns, as scimd's writer queue makes them.
func (db *rawDB) insertUser(ctx context.Context, tenant int64, name string, i int) error {
	doc := entraUserNamed(name, i)
	delete(doc, "schemas")
	delete(doc, "externalId")
	attrs, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	var at any = time.Now().UTC()
	q := "INSERT INTO users (tenant_id, id, user_name, user_name_folded, display_name, display_name_folded, " +
		"active, status, attrs, version, created_at, updated_at) VALUES ("
	for n := 1; n <= 12; n++ {
		q += db.ph(n) + map[bool]string{true: ")", false: ", "}[n == 12]
	}
	if db.dialect == store.SQLite {
		at = time.Now().UTC().Format("2006-01-02 15:04:05.999999-07:00")
		db.writeMu.Lock()
		defer db.writeMu.Unlock()
	}
	display := fmt.Sprint(doc["displayName"])
	_, err = db.ExecContext(ctx, q, tenant, uuid.NewString(), name, strings.ToLower(name), display, strings.ToLower(display),
		true, "active", string(attrs), 1, at, at)
	return err
}

// usersSQL is the SQL of a Users page for a filter ("" for none).
func (db *rawDB) usersSQL(q store.Query, text string) (page, total string, err error) {
	if text != "" {
		if q.Filter, err = filter.ParseFilterNumber([]byte(text)); err != nil {
			return "", "", fmt.Errorf("filter %q: %w", text, err)
		}
	}
	return db.store.UsersSQL(q)
}

// read runs a query and reads every column of every row, as scimd scans
// them, returning the rows' pks (0 for rows without one).
func (db *rawDB) read(ctx context.Context, query string) ([]int64, error) {
	rows, err := db.QueryContext(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	vals := make([]sql.RawBytes, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var pks []int64
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		var pk int64
		if cols[0] == "pk" {
			pk, _ = strconv.ParseInt(string(vals[0]), 10, 64)
		}
		pks = append(pks, pk)
	}
	return pks, rows.Err()
}

// walk is an Okta walk as scimd serves it from paging hints: the count,
// then the rows after the previous page's last key, page by page.
func (db *rawDB) walk(ctx context.Context, w workload, q store.Query) (walkResult, error) {
	var r walkResult
	began := time.Now()
	for len(r.pages) < w.requests {
		t := time.Now()
		page, total, err := db.usersSQL(q, "")
		if err != nil {
			return r, err
		}
		if _, err := db.read(ctx, total); err != nil {
			return r, err
		}
		pks, err := db.read(ctx, page)
		if err != nil {
			return r, err
		}
		r.pages = append(r.pages, time.Since(t))
		// The page asks for one row more, to see whether more follow.
		n := min(len(pks), w.count)
		r.rows += n
		if len(pks) <= w.count {
			break
		}
		if pks[n-1] == 0 {
			return r, fmt.Errorf("the page's rows carry no pk column")
		}
		q.After = store.Position(pks[n-1])
	}
	r.elapsed = time.Since(began)
	return r, nil
}
