// Command scimbench is scimd's load generator. It speaks SCIM to a
// running scimd the way Entra and Okta do, and measures the database
// doing the same work raw, so that every figure comes with its ceiling
// from the same run (docs: BENCHMARK-PLAN.md §4.2, BENCHMARKS.md).
//
//	scimbench seed --database-url URL --tenant T --connector C --users N
//	scimbench run  --url http://127.0.0.1:8080/scim/v2/T --token TOKEN --scenario S [flags]
//	scimbench ref  --database-url URL --tenant T --connector C --scenario S [flags]
//
// seed writes N users straight into the database in a few set-based
// statements (INSERT … SELECT over a generated series): a million take
// about a minute, not the hour the API would. Users are User<i>@example.com
// in mixed case, with a ~1 KB document (names, work email, phone,
// address, enterprise extension), family name Family<i mod 50000> and a
// GUID external ID for the connector. The tenant and connector must exist
// (scimd token create makes them and the token run needs).
//
// run drives a scimd on loopback (it refuses other hosts) with
// --concurrency clients until --requests requests or --duration have
// passed, and prints p50/p90/p99/max latency, the rate and the errors.
// Scenarios:
//
//	post        create users, each body as Entra sends it
//	get-eq      userName eq lookups of random seeded users, 5% in another case
//	filter      GET /Users?filter=F, F from --filter with {i} a random user number
//	list-first  the first page (startIndex=1, count=--count)
//	deep        the page at --start-index, asked again and again
//	walk        one Okta-style walk: startIndex 1, 1+count, … to totalResults,
//	            reporting the first, middle and last page and the walk's time
//
// ref runs the SQL scimd runs for get-eq, filter, list-first and walk
// (store.UsersSQL: the page, and the count where scimd needs one) through
// the plain driver, with the same concurrency and counts, and prints the
// same line: what the database alone does with the same work.
package main
