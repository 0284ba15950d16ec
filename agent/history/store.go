package history

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	"github.com/hashicorp/go-hclog"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// busyTimeoutMS is how long a statement waits for another process's write
// lock before failing with SQLITE_BUSY.
const busyTimeoutMS = 10000

// Store is the run history database. It is safe for concurrent use by
// several goroutines and several processes.
type Store struct {
	db     *sql.DB
	logs   string // folder of the finished runs' logs (see logs.go)
	logger hclog.Logger
}

// Open opens (creating if needed) the history database at path and
// migrates its schema. A new database file is created 0600 and a missing
// parent directory 0700. A database written by a newer ferry (higher schema
// version) is refused rather than misread.
func Open(path string, logger hclog.Logger) (*Store, error) {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open history: %w", err)
	}
	if err := createPrivate(abs); err != nil {
		return nil, fmt.Errorf("open history: %w", err)
	}
	unlock, err := lockOpen(abs)
	if err != nil {
		return nil, fmt.Errorf("open history: %w", err)
	}
	defer unlock()
	db, err := sql.Open("sqlite", dsn(abs))
	if err != nil {
		return nil, fmt.Errorf("open history: %w", err)
	}
	s := &Store{db: db, logs: filepath.Join(filepath.Dir(abs), "logs"), logger: logger.Named("history")}
	if err := s.migrate(context.Background()); err != nil {
		return nil, errors.Join(fmt.Errorf("open history %s: %w", abs, err), db.Close())
	}
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close history: %w", err)
	}
	return nil
}

// dsn builds the driver's data source name for the absolute path abs. Every
// pooled connection gets the busy timeout and WAL mode; write transactions
// begin IMMEDIATE so that two processes never deadlock upgrading a read
// lock (which the busy timeout cannot resolve).
func dsn(abs string) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeoutMS))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_txlock", "immediate")
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs), OmitHost: true, RawQuery: q.Encode()}
	return u.String()
}

// createPrivate creates the database file 0600 (and its directory 0700) if
// it does not exist yet. SQLite gives its -wal and -shm files the same
// permissions as the database file.
func createPrivate(abs string) error {
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	return f.Close()
}

// migrate applies the migrations the database lacks, in one transaction.
func (s *Store) migrate(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin migration: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	var version int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if version > len(migrations) {
		return fmt.Errorf("schema version %d is newer than this ferry supports (%d); upgrade ferry", version, len(migrations))
	}
	for i := version; i < len(migrations); i++ {
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			return fmt.Errorf("migrate schema to version %d: %w", i+1, err)
		}
	}
	if version == len(migrations) {
		return nil
	}
	// PRAGMA takes no bound parameters; the value is our own integer.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", len(migrations))); err != nil {
		return fmt.Errorf("write schema version: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit migration: %w", err)
	}
	s.logger.Debug("migrated history schema", "from", version, "to", len(migrations))
	return nil
}
