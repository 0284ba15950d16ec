package history

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/ferry-ml/ferry/executor/api"
)

// updateStatusSQL changes the status fields of a run. A terminal status is
// never replaced by a non-terminal one, so that a stale poll (from a second
// ferry process, say) cannot bring a finished run back to Running; NULL or
// empty arguments keep the stored values.
const updateStatusSQL = `UPDATE runs SET
	status = CASE WHEN status IN ('Completed', 'Failed', 'Canceled')
		AND ?1 NOT IN ('Completed', 'Failed', 'Canceled') THEN status ELSE ?1 END,
	exit_code = COALESCE(?2, exit_code),
	reason = CASE WHEN ?3 = '' THEN reason ELSE ?3 END,
	started_at = COALESCE(?4, started_at),
	ended_at = COALESCE(?5, ended_at)
	WHERE id = ?6`

// UpdateStatus records a status change of run id. A nil exitCode, startedAt
// or endedAt, or an empty reason, keeps what is stored; a terminal status
// (Completed, Failed, Canceled) is never replaced by a non-terminal one.
// It returns ErrNotFound (wrapped) when there is no such run.
func (s *Store) UpdateStatus(ctx context.Context, id string, status api.Status, exitCode *int, reason string, startedAt, endedAt *time.Time) error {
	return updateStatus(ctx, s.db, id, status, exitCode, reason, startedAt, endedAt)
}

// updateStatus runs updateStatusSQL through e.
func updateStatus(ctx context.Context, e execer, id string, status api.Status, exitCode *int, reason string, startedAt, endedAt *time.Time) error {
	res, err := e.ExecContext(ctx, updateStatusSQL, string(status), nullInt(exitCode), reason,
		nullTime(startedAt), nullTime(endedAt), id)
	return affected(res, err, "update status of run", id)
}

// SetOutputs records that the outputs of run id were downloaded to the
// local directory dir and lists them.
func (s *Store) SetOutputs(ctx context.Context, id, dir string, files []api.OutputFile) error {
	o, err := jsonList(files)
	if err != nil {
		return fmt.Errorf("encode outputs of run %s: %w", id, err)
	}
	res, err := s.db.ExecContext(ctx, `UPDATE runs SET outputs_dir = ?, outputs = ? WHERE id = ?`, dir, o, id)
	return affected(res, err, "set outputs of run", id)
}

// ApplyRun copies what the executor reports about a run (status, exit
// code, reason, times) into its record, with UpdateStatus's rules. The
// metrics of a run that ended are kept apart (PutMetrics).
func (s *Store) ApplyRun(ctx context.Context, run api.Run) error {
	return updateStatus(ctx, s.db, run.Spec.ID, run.Status, run.ExitCode, run.Reason, run.StartedAt, run.EndedAt)
}

// affected turns an UPDATE result into ErrNotFound when no row matched.
func affected(res sql.Result, err error, what, id string) error {
	if err != nil {
		return fmt.Errorf("%s %s: %w", what, id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s %s: %w", what, id, err)
	}
	if n == 0 {
		return fmt.Errorf("%s %s: %w", what, id, ErrNotFound)
	}
	return nil
}

// Delete removes run id and its kept log, for a run that never existed
// anywhere else (its target refused it). It returns ErrNotFound (wrapped)
// when there is no such run.
func (s *Store) Delete(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM runs WHERE id = ?`, id)
	if err := affected(res, err, "delete run", id); err != nil {
		return err
	}
	if err := os.Remove(s.logPath(id)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("delete log of run %s: %w", id, err)
	}
	return nil
}
