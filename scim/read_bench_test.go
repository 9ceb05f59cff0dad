package scim_test

import (
	"fmt"
	"net/url"
	"testing"

	"github.com/scimd/scimd/scim"
	"github.com/scimd/scimd/store/storetest"
)

// BenchmarkGetEq is the lookup identity providers make before each push,
// GET /Users?filter=userName eq "…", over loopback HTTP on PostgreSQL, at
// c=1; stmts/op counts the SQL statements per request (1 on a warm
// principal cache). For a CPU profile of the request path:
//
//	go test -run '^$' -bench GetEq -benchtime 3000x -cpuprofile cpu.out ./scim
func BenchmarkGetEq(b *testing.B) {
	db := storetest.Open(b, storetest.PostgresDSN(b))
	statements := db.CountStatements()
	c := newClient(b, db, newServer(b, db, scim.Config{}), "acme", "okta")
	const users = 200
	for i := range users {
		c.do("POST", "/Users", userBody(fmt.Sprintf("user%d@example.com", i))).want(b, 201)
	}
	queries := make([]string, users)
	for i := range queries {
		queries[i] = "/Users?filter=" + url.QueryEscape(fmt.Sprintf(`userName eq "user%d@example.com"`, i))
	}
	for _, q := range queries[:10] { // warm the listener and the cache
		c.do("GET", q, nil).want(b, 200)
	}
	before := statements.Load()
	i := 0
	for b.Loop() {
		r := c.do("GET", queries[i%users], nil)
		if r.status != 200 || r.body["totalResults"] != 1.0 {
			b.Fatalf("GET: %d %s", r.status, r.raw)
		}
		i++
	}
	b.ReportMetric(float64(statements.Load()-before)/float64(i), "stmts/op")
}
