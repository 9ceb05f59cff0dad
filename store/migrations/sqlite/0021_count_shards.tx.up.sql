-- PostgreSQL's 0021 spreads count changes over shards; SQLite has one
-- writer and no row versions to walk, and keeps its counts as they are.
SELECT 1;
