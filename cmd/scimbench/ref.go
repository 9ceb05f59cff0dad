package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"strconv"
	"time"

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
	to, err := db.principal(ctx, *tenant, *connector)
	if err != nil {
		return err
	}
	// The statement scimd runs for a list without projection: with each
	// user's groups, and attrs read as text for splicing.
	query := store.Query{TenantID: to.tenant, ConnectorID: to.connector, StartIndex: 1, Count: w.count,
		Groups: true, RawAttrs: true}
	var statements [][]string // each request runs one of these lists
	switch w.scenario {
	case "walk":
		r, err := db.walk(ctx, w, query)
		if err != nil {
			return err
		}
		reportWalk(stdout, "ref", w, r)
		return nil
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
				return err
			}
			statements = append(statements, []string{page})
		}
	case "list-first":
		page, total, err := db.usersSQL(query, "")
		if err != nil {
			return err
		}
		statements = append(statements, []string{page, total})
	default:
		return fmt.Errorf("ref has no scenario %q: get-eq, filter, list-first or walk", w.scenario)
	}
	r, err := drive(ctx, w, func(ctx context.Context, i int) error {
		for _, s := range statements[i%len(statements)] {
			if _, err := db.read(ctx, s); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	report(stdout, "ref", w, r)
	return nil
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
