package history

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/ferry-ml/ferry/executor/api"
)

// Filter selects runs for List. Empty fields match everything.
type Filter struct {
	Experiment string
	Compute    string
	Status     api.Status
	Limit      int // at most this many runs; 0 or less: all
}

// execer is *sql.DB or *sql.Tx.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// upsert inserts a run or replaces every column of the existing one.
const upsert = `INSERT INTO runs (` + columns + `) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)
	ON CONFLICT (id) DO UPDATE SET experiment = excluded.experiment, compute = excluded.compute,
	status = excluded.status, exit_code = excluded.exit_code, reason = excluded.reason,
	created_at = excluded.created_at, started_at = excluded.started_at, ended_at = excluded.ended_at,
	spec = excluded.spec, outputs_dir = excluded.outputs_dir,
	outputs = excluded.outputs`

// Put inserts r, or replaces the stored run with the same ID. ID and
// CreatedAt are required.
func (s *Store) Put(ctx context.Context, r Record) error {
	a, err := putArgs(r)
	if err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, upsert, a...); err != nil {
		return fmt.Errorf("put run %s: %w", r.ID, err)
	}
	return nil
}

// PutAll puts every record in one transaction: all are stored or none.
func (s *Store) PutAll(ctx context.Context, records []Record) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, upsert)
		if err != nil {
			return fmt.Errorf("prepare run insert: %w", err)
		}
		defer stmt.Close()
		for _, r := range records {
			a, err := putArgs(r)
			if err != nil {
				return err
			}
			if _, err := stmt.ExecContext(ctx, a...); err != nil {
				return fmt.Errorf("put run %s: %w", r.ID, err)
			}
		}
		return nil
	})
}

// putArgs validates r and returns the upsert's arguments.
func putArgs(r Record) ([]any, error) {
	if r.ID == "" || r.CreatedAt.IsZero() {
		return nil, fmt.Errorf("put run %q: id and created_at are required", r.ID)
	}
	return args(r)
}

// Get returns the run with id. When no run has exactly that id, id may be a
// unique prefix of at least MinPrefix characters, as with git commits.
// Errors: ErrNotFound (wrapped) when nothing matches, *AmbiguousError when
// the prefix matches several runs.
func (s *Store) Get(ctx context.Context, id string) (Record, error) {
	r, err := s.getExact(ctx, id)
	if !errors.Is(err, ErrNotFound) || len(id) < MinPrefix {
		return r, err
	}
	matches, err := s.prefixMatches(ctx, id)
	if err != nil {
		return Record{}, err
	}
	switch len(matches) {
	case 0:
		return Record{}, fmt.Errorf("get run %q: %w", id, ErrNotFound)
	case 1:
		return s.getExact(ctx, matches[0])
	}
	return Record{}, &AmbiguousError{Prefix: id, Matches: matches}
}

// getExact returns the run whose id is exactly id.
func (s *Store) getExact(ctx context.Context, id string) (Record, error) {
	rec, err := scanRecord(s.db.QueryRowContext(ctx, `SELECT `+columns+` FROM runs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Record{}, fmt.Errorf("get run %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return Record{}, fmt.Errorf("get run %q: %w", id, err)
	}
	return rec, nil
}

// prefixMatches returns up to maxMatches ids starting with prefix, sorted.
// Ids sharing a prefix are contiguous in id order, starting at the first id
// >= prefix, so this reads the primary key index and nothing more.
func (s *Store) prefixMatches(ctx context.Context, prefix string) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id FROM runs WHERE id >= ? ORDER BY id LIMIT ?`, prefix, maxMatches)
	if err != nil {
		return nil, fmt.Errorf("find run %q: %w", prefix, err)
	}
	defer rows.Close()
	var matches []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("find run %q: %w", prefix, err)
		}
		if !strings.HasPrefix(id, prefix) {
			break
		}
		matches = append(matches, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find run %q: %w", prefix, err)
	}
	return matches, nil
}

// List returns the runs matching f, newest first (by CreatedAt, then id).
// Every filter is served by an index ordered like the result, so a page of
// runs costs the same however long the history is.
func (s *Store) List(ctx context.Context, f Filter) ([]Record, error) {
	return s.query(ctx, listQuery(f), listArgs(f)...)
}

// listFilters are the Filter fields List compares, by column.
func listFilters(f Filter) []struct{ col, val string } {
	return []struct{ col, val string }{
		{"experiment", f.Experiment}, {"compute", f.Compute}, {"status", string(f.Status)},
	}
}

// listQuery builds List's SELECT. Only the filters that are set appear in
// it: "? = ” OR col = ?" would keep SQLite from using the indexes.
func listQuery(f Filter) string {
	var where []string
	for _, c := range listFilters(f) {
		if c.val != "" {
			where = append(where, c.col+" = ?")
		}
	}
	q := `SELECT ` + columns + ` FROM runs`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY created_at DESC, id DESC`
	if f.Limit > 0 {
		q += ` LIMIT ?`
	}
	return q
}

// listArgs returns listQuery's arguments.
func listArgs(f Filter) []any {
	var a []any
	for _, c := range listFilters(f) {
		if c.val != "" {
			a = append(a, c.val)
		}
	}
	if f.Limit > 0 {
		a = append(a, f.Limit)
	}
	return a
}

// query runs a SELECT of columns and decodes every row.
func (s *Store) query(ctx context.Context, q string, a ...any) ([]Record, error) {
	rows, err := s.db.QueryContext(ctx, q, a...)
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	defer rows.Close()
	var out []Record
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, fmt.Errorf("list runs: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	return out, nil
}

// inTx runs fn in a write transaction and commits it if fn succeeds.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin history transaction: %w", err)
	}
	if err := fn(tx); err != nil {
		return errors.Join(err, tx.Rollback())
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit history transaction: %w", err)
	}
	return nil
}

// Experiments returns the distinct experiment names in the history,
// sorted; the experiment index makes this a scan of its keys alone.
func (s *Store) Experiments(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT experiment FROM runs ORDER BY experiment`)
	if err != nil {
		return nil, fmt.Errorf("list experiments: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var e string
		if err := rows.Scan(&e); err != nil {
			return nil, fmt.Errorf("list experiments: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list experiments: %w", err)
	}
	return out, nil
}
