// Package storetest gives tests real databases: a fresh SQLite file, and a
// fresh database on a real PostgreSQL.
//
// PostgreSQL is found, in order, at SCIMD_TEST_DATABASE_URL, at
// 127.0.0.1:5432 (user postgres, trust), or started as a throwaway cluster
// from the installed binaries (initdb, pg_ctl) and stopped by [Main]. A test
// that gets no PostgreSQL fails; it never skips.
//
// [Each] runs one test body on both databases, which is how the store's
// conformance suite and the HTTP tests prove both backends every run.
package storetest
