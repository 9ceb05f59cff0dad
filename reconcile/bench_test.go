package reconcile_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/store"
	"github.com/scimd/scimd/store/storetest"
)

// BenchmarkApply is the cost of the pipeline per user write: a SCIM create
// through a connector without rules, and through one whose rules match by
// email, grant an org unit, a group and a role, and set a status. Compare
// the two lines of each database: the ratio is what mapping costs.
//
//	go test -run '^$' -bench Apply -benchtime 2000x ./reconcile
func BenchmarkApply(b *testing.B) {
	const config = `
tenants:
  - name: acme
    roles: [{name: faculty}]
    connectors:
      - name: plain
      - name: mapped
        emailDomains: [example.com]
        create: {orgUnits: true}
        allow: {roles: [faculty], groups: [Faculty], orgUnits: [Medicine]}
        rules:
          - name: faculty
            if: department in ["Radiology", "Surgery"]
            orgUnit: "Medicine/${department}"
            roles: [faculty]
            groups: [Faculty]
          - name: alumni
            if: department == "Alumni"
            status: disabled
`
	for _, d := range []struct{ name, dsn string }{
		{"sqlite", storetest.SQLiteDSN(b)},
		{"postgres", storetest.PostgresDSN(b)},
	} {
		db := storetest.Open(b, d.dsn)
		w := newWorld(b, db, config)
		g := store.Group{TenantID: w.tenant.ID, DisplayName: "Faculty", Attrs: map[string]any{"displayName": "Faculty"}}
		if err := db.RunInTx(b.Context(), func(ctx context.Context, tx *store.Tx) error { return tx.InsertGroup(ctx, &g) }); err != nil {
			b.Fatal(err)
		}
		for _, c := range []string{"plain", "mapped"} {
			b.Run(d.name+"/"+c, func(b *testing.B) {
				i := 0
				for b.Loop() {
					i++
					in := w.input(c, reconcile.Create, fmt.Sprintf("x%d", i), user(fmt.Sprintf("%s-%d", c, i),
						"emails", email(fmt.Sprintf("%s-%d@example.com", c, i)),
						schemas.EnterpriseUserURN, dept([]string{"Radiology", "Surgery", "Alumni", "HR"}[i%4])))
					if _, err := w.e.Apply(b.Context(), in); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkRemapOnRename is what a group rename costs when the connector's
// rules read groups: every member is mapped again, in the rename's
// transaction. Reported per member (ns/member); compare the databases, and
// the same figure at other sizes (-members).
//
//	go test -run '^$' -bench RemapOnRename -benchtime 3x ./reconcile
func BenchmarkRemapOnRename(b *testing.B) {
	const members = 1000
	for _, d := range []struct{ name, dsn string }{
		{"sqlite", storetest.SQLiteDSN(b)},
		{"postgres", storetest.PostgresDSN(b)},
	} {
		db := storetest.Open(b, d.dsn)
		w := newWorld(b, db, `
tenants:
  - name: acme
    roles: [{name: engineer}]
    connectors:
      - name: okta
        allow: {roles: [engineer]}
        rules:
          - name: engineers
            if: '"Engineering" in groups'
            roles: [engineer]
`)
		var ids []string
		for i := range members {
			ids = append(ids, w.apply(w.input("okta", reconcile.Create, "", user(fmt.Sprintf("u%d", i)))).User.ID)
		}
		g := w.apply(w.groupInput("okta", reconcile.Create, "", map[string]any{"displayName": "Engineering"}, ids...))
		names := []string{"Platform", "Engineering"}
		b.Run(d.name, func(b *testing.B) {
			i := 0
			for b.Loop() {
				w.apply(w.groupInput("okta", reconcile.Replace, g.Group.ID, map[string]any{"displayName": names[i%2]}, ids...))
				i++
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*members), "ns/member")
		})
	}
}

// BenchmarkAuthenticate is a request's token check on each database: on
// SQLite a lookup every time (it caches nothing), on PostgreSQL a hit of
// the principal cache once its listener listens. stmts/op is what each
// check sends to the database.
//
//	go test -run '^$' -bench Authenticate ./reconcile
func BenchmarkAuthenticate(b *testing.B) {
	for _, d := range []struct{ name, dsn string }{
		{"sqlite", storetest.SQLiteDSN(b)},
		{"postgres", storetest.PostgresDSN(b)},
	} {
		b.Run(d.name, func(b *testing.B) {
			db := storetest.Open(b, d.dsn)
			statements := db.CountStatements()
			e := reconcile.New(db, nil)
			ctx := context.Background()
			tok, err := e.IssueToken(ctx, reconcile.CommandLine, "acme", "okta")
			if err != nil {
				b.Fatal(err)
			}
			for range 1000 { // until the listener listens (PostgreSQL)
				if _, ok := db.PrincipalEpoch(); ok || db.Dialect() != store.Postgres {
					break
				}
				time.Sleep(5 * time.Millisecond)
			}
			header := "Bearer " + tok.Secret
			before, n := statements.Load(), 0
			for b.Loop() {
				if _, err := e.Authenticate(ctx, header, "acme", store.KindSCIM); err != nil {
					b.Fatal(err)
				}
				n++
			}
			b.ReportMetric(float64(statements.Load()-before)/float64(n), "stmts/op")
		})
	}
}
