package runner

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/ferry-ml/ferry/executor/api"
)

// launch starts the shim for a prepared run, waits until it reports the
// script started, marks the run Running and watches the shim.
func (r *Runner) launch(st *runState, conf shimConfig) error {
	if err := writeJSONAtomic(st.paths.shimConf(), conf); err != nil {
		return err
	}
	cmd, exited, err := r.startShim(st)
	if err != nil {
		return err
	}
	id, err := readShimIdentity(st.paths)
	if err != nil {
		// The shim died before recording itself; the watcher finds it gone.
		id = procIdentity{PID: cmd.Process.Pid}
		if ps, err := readProcStat(id.PID); err == nil {
			id.Start = ps.Start
		}
	}
	now := time.Now().UTC()
	r.mu.Lock()
	defer r.mu.Unlock()
	st.shim = id
	err = r.updateLocked(st, func(rec *api.Run) {
		rec.Status, rec.StartedAt = api.StatusRunning, &now
	})
	if errors.Is(err, ErrClosed) {
		return nil // the shim runs on; the next Recover adopts it
	}
	if st.cancelRequested {
		_ = id.signal(syscall.SIGTERM)
	}
	r.wg.Add(1)
	go r.watchShim(st, exited)
	return err
}

// startShim starts "ShimPath shim --run-dir D --ready-fd 3" in a session of
// its own and waits until it closes the ready pipe. exited is closed once the
// shim has exited and been reaped; the goroutine that reaps it ends with the
// shim, not with the runner.
func (r *Runner) startShim(st *runState) (*exec.Cmd, <-chan struct{}, error) {
	shimLog, err := os.OpenFile(st.paths.shimLog(), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("open shim log: %w", err)
	}
	defer shimLog.Close()
	readyR, readyW, err := os.Pipe()
	if err != nil {
		return nil, nil, fmt.Errorf("create ready pipe: %w", err)
	}
	defer readyR.Close()
	cmd := exec.Command(r.cfg.ShimPath, "shim", "--run-dir", st.paths.dir(), "--ready-fd", "3")
	cmd.Dir = st.paths.dir()
	cmd.Stdout, cmd.Stderr = shimLog, shimLog
	cmd.ExtraFiles = []*os.File{readyW}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	readyW.Close()
	if err != nil {
		return nil, nil, fmt.Errorf("start shim: %w", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	if err := waitReady(readyR); err != nil {
		_ = cmd.Process.Kill() // the script dies with it (parent-death signal)
		return nil, nil, err
	}
	return cmd, exited, nil
}

// waitReady reads the ready pipe until the shim closes it.
func waitReady(readyR *os.File) error {
	if err := readyR.SetReadDeadline(time.Now().Add(readyTimeout)); err != nil {
		return fmt.Errorf("wait for shim: %w", err)
	}
	if _, err := io.Copy(io.Discard, readyR); err != nil {
		return fmt.Errorf("wait for shim: %w", err)
	}
	return nil
}

// readShimIdentity reads the pid and start time the shim recorded.
func readShimIdentity(paths runPaths) (procIdentity, error) {
	var id procIdentity
	if err := readJSON(paths.shimPID(), &id); err != nil {
		return procIdentity{}, fmt.Errorf("read shim pid: %w", err)
	}
	return id, nil
}
