// Package history keeps the laptop's record of runs in a SQLite database
// ($FERRY_HOME/history.db): what ran where, from which snapshot and commit,
// with which environment, how it ended and where its outputs were
// downloaded. "ferry runs" and "ferry show" read it. A finished run's log
// and metrics are files beside the database (logs.go, metrics.go), written
// and read as streams, so that no row grows with them.
//
// Several ferry processes may use the database at once ("ferry watch" in one
// terminal, "ferry runs" in another): it runs in WAL mode with a busy
// timeout, and write transactions take the write lock when they begin. The
// schema is versioned with PRAGMA user_version and migrated on Open. SQLite's
// journal makes every write atomic, which stands in for the temp file +
// rename rule used for other persistent state.
//
// Environment variables passed with --env are stored as given (the file is
// 0600, like the rest of $FERRY_HOME) so that a run can be repeated exactly;
// Record's JSON form, which is what commands print, masks the values of
// variables whose names look like secrets (see RedactedEnv).
package history
