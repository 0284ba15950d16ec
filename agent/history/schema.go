package history

// migrations[i] brings the schema from user_version i to i+1. Append only:
// a released migration never changes.
var migrations = []string{
	// 1: runs, with the columns List filters and sorts on, each filter
	// indexed together with the sort order so that a page of the newest runs
	// is read straight off an index. Times are unix nanoseconds (UTC). The
	// rest of the record is JSON in spec.
	`CREATE TABLE runs (
		id          TEXT PRIMARY KEY,
		experiment  TEXT NOT NULL,
		compute     TEXT NOT NULL,
		status      TEXT NOT NULL,
		exit_code   INTEGER,
		reason      TEXT NOT NULL DEFAULT '',
		created_at  INTEGER NOT NULL,
		started_at  INTEGER,
		ended_at    INTEGER,
		spec        TEXT NOT NULL,
		metrics     TEXT NOT NULL DEFAULT '[]',
		outputs_dir TEXT NOT NULL DEFAULT '',
		outputs     TEXT NOT NULL DEFAULT '[]'
	);
	CREATE INDEX runs_by_created ON runs (created_at DESC, id DESC);
	CREATE INDEX runs_by_experiment ON runs (experiment, created_at DESC, id DESC);
	CREATE INDEX runs_by_compute ON runs (compute, created_at DESC, id DESC);
	CREATE INDEX runs_by_status ON runs (status, created_at DESC, id DESC);`,
}
