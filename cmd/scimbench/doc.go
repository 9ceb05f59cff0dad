// Command scimbench is scimd's load generator. It speaks SCIM to a
// running scimd the way Entra and Okta do, and measures the database
// doing the same work raw, so that every figure comes with its ceiling
// from the same run (docs: BENCHMARK-PLAN.md §4.2, BENCHMARKS.md).
//
//	scimbench seed  --database-url URL --tenant T --connector C --users N [--groups NAME:MEMBERS,…]
//	scimbench run   --url http://127.0.0.1:8080/scim/v2/T --token TOKEN --scenario S [flags]
//	scimbench ref   --database-url URL --tenant T --connector C --scenario S [flags]
//	scimbench suite --scimd BIN --database-url URL [--users N] [flags]
//
// seed writes N users straight into the database in a few set-based
// statements (INSERT … SELECT over a generated series): a million take
// about a minute, not the hour the API would. Users are User<i>@example.com
// in mixed case, with a ~1 KB document (names, work email, phone,
// address, enterprise extension), family name Family<i mod 50000> and a
// GUID external ID for the connector. The tenant and connector must exist
// (scimd token create makes them and the token run needs). --groups makes
// groups managed by the connector, each holding the tenant's first
// MEMBERS users (bench-big:100000,bench-empty:0), in one statement each.
//
// run drives a scimd on loopback (it refuses other hosts) until
// --requests requests or --duration have passed, whichever comes first:
// closed loop, --concurrency clients back to back; or open loop, --rate
// requests a second started on schedule whatever the server does, up to
// --concurrency in flight, each request's latency counted from when it
// was due (no coordinated omission; "late" counts those no client was
// free to start on time). It prints the rate, errors and
// p50/p90/p99/p99.9/max, each kind of request of a mixed scenario on its
// own line, and:
//
//   - SQL per request, with --database-url on PostgreSQL: pg_stat_statements'
//     calls in the database if the extension is loaded, else transactions
//     from pg_stat_database (a lower bound: one per autocommitted
//     statement or BEGIN … COMMIT block; waits 10.5 s before each reading
//     for PostgreSQL's statistics flush); n/a on SQLite;
//   - the server's RSS, with --server-pid: VmRSS before the run (idle), the
//     highest sampled every 20 ms during it, and VmHWM;
//   - with --with-ref, the scenario's reference run right after with the
//     same load, and scimd's rate over it.
//
// Scenarios:
//
//	post        create users, each body as Entra sends it
//	get-eq      userName eq lookups of random seeded users, 5% in another case
//	filter      GET /Users?filter=F, F from --filter with {i} a random user number
//	list-first  the first page (startIndex=1, count=--count)
//	deep        the page at --start-index, asked again and again
//	walk        one Okta-style walk: startIndex 1, 1+count, … to totalResults,
//	            reporting the first, middle and last page and the walk's time
//	entra-sync  Entra's initial cycle: per user a userName eq lookup (no hit)
//	            and the POST; then --groups groups: displayName eq lookup
//	            (members excluded), POST, PATCH adding --group-size members
//	            100 at a time
//	churn       60% PATCH user (title; a third of them active true/false),
//	            10% PUT, 10% POST, 10% userName eq, 8% group PATCH of 1–10
//	            members, 2% DELETE of users the run created; best with --rate
//	members     one member removed from and added back to the large group,
//	            and added to and removed from the empty one, alternately
//	            (--group-big, --group-empty; seed --groups): the ratio of
//	            their p50s says whether a change costs more in a large group
//	group-read  GET /Groups/{id}?excludedAttributes=members of the large and
//	            the empty group alternately, every --full-every'th a full read
//	csv         scimd import (--scimd) of a generated file of --requests new
//	            users with one role; its RSS; ref: the same number of user
//	            rows written raw, 1,000 per multi-row INSERT, one transaction
//
// ref runs the SQL scimd runs for get-eq, filter, list-first and walk
// (store.UsersSQL: the page, and the count where scimd needs one) through
// the plain driver, with the same concurrency and counts, and prints the
// same line: what the database alone does with the same work. For post
// it is a single-row autocommitted INSERT of the same ~1 KB user into
// scimd's users table (its indexes and email trigger); for entra-sync the
// lookup and that insert.
//
// suite runs the whole plan against one database: it migrates it, makes
// tokens, seeds tenant bench (--users, groups bench-big with --members and
// bench-empty) and bench10k (--small) unless they are seeded, starts
// scimd serve on loopback (--addr), runs every step with its reference
// back to back, stops the server it started and prints one table: rate,
// p50/p99/p99.9, errors, SQL per request, ref rate and ratio, peak RSS,
// the load average and the comparisons (large vs empty group, deep vs
// first page).
package main
