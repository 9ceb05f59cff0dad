// Package csvio reads and writes users as CSV files, the way the seeds'
// products do (000–003 seeds), through reconcile like every other source:
//
//	reader.go  the file: comma or semicolon, BOM, CRLF, quotes, streamed
//	layout.go  which column fills which field (a csv connector's layout, or the default)
//	decode.go  a row → reconcile.LoadRow, every cell checked (*RowError per cell)
//	rows.go    a file → the load's rows, one at a time
//	import.go  Import: validate or load a file in one pass (reconcile.Engine.Load),
//	           its Report (counts, the 002 seed's summary line, problems by line
//	           and column, decisions); shared by scimd import and the admin API's jobs
//	sample.go  Sample: a file with every column of a layout and one example row
//
// It holds no *store.DB: it reads through store.Reader and writes through
// *reconcile.Engine (deps_test.go).
package csvio
