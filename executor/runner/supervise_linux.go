package runner

import (
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// supervise waits for the script, cancellation or the time limit, then makes
// sure that no process of the run survives. Being the child subreaper, the
// shim inherits every orphaned descendant, so "wait4 reports no children"
// means that the whole tree is gone.
func (s *shim) supervise(child int, signals <-chan os.Signal) exitRecord {
	mainExit := make(chan syscall.WaitStatus, 1)
	allGone := make(chan struct{})
	go reapAll(child, mainExit, allGone)

	var rec exitRecord
	var deadline, grace, giveUp, retry <-chan time.Time
	if s.cfg.MaxDuration > 0 {
		t := time.NewTimer(s.cfg.MaxDuration)
		defer t.Stop()
		deadline = t.C
	}
	exited, stopping := false, false
	stop := func() {
		if !stopping {
			stopping = true
			s.killAll(child, syscall.SIGTERM)
			grace = time.After(s.cfg.KillGrace)
		}
	}
	for {
		select {
		case ws := <-mainExit:
			exited = true
			rec.setWaitStatus(ws)
			s.log.Debug("script exited", "status", ws)
			stop() // whatever it left behind
		case <-allGone:
			return rec
		case sig := <-signals:
			if !exited {
				rec.Canceled = true
			}
			s.log.Debug("cancel requested", "signal", sig)
			stop()
		case <-deadline:
			if !exited && !rec.Canceled {
				rec.TimedOut = true
			}
			stop()
		case <-grace:
			rec.KilledAfter = s.cfg.KillGrace.String()
			s.killAll(child, syscall.SIGKILL)
			ticker := time.NewTicker(killRetryInterval)
			defer ticker.Stop()
			retry, grace = ticker.C, nil
			giveUp = time.After(killGiveUp)
		case <-retry:
			s.killAll(child, syscall.SIGKILL)
		case <-giveUp:
			rec.Reason = "processes of the run survived SIGKILL"
			return rec
		}
	}
}

// reapAll reaps every child of the shim (the script and the orphans it left
// behind), reports the script's status on mainExit and closes allGone when
// no child is left.
func reapAll(child int, mainExit chan<- syscall.WaitStatus, allGone chan<- struct{}) {
	defer close(allGone)
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, 0, nil)
		if err == syscall.EINTR {
			continue
		}
		if err != nil { // ECHILD: nothing left to wait for
			return
		}
		if pid == child {
			mainExit <- ws
		}
	}
}

// killAll sends sig to the script's process group and to every live
// descendant of the shim or process carrying the run's marker (FERRY_RUN_ID
// of the run, or cfg.Marker), which covers
// grandchildren that moved to a session of their own.
func (s *shim) killAll(pgid int, sig syscall.Signal) {
	_ = syscall.Kill(-pgid, sig)
	procs := allProcesses()
	seen := make(map[int]bool)
	marker := envRunID + "=" + s.cfg.RunID
	if s.cfg.Marker != "" {
		marker = s.cfg.Marker
	}
	for _, pid := range append(liveDescendants(procs, s.self), processesWithEnv(procs, marker)...) {
		if pid != s.self && !seen[pid] {
			seen[pid] = true
			_ = syscall.Kill(pid, sig)
		}
	}
	s.log.Debug("signalled run processes", "signal", unix.SignalName(sig), "count", len(seen))
}

// setWaitStatus records how the script ended: its exit code, or 128+signal.
func (rec *exitRecord) setWaitStatus(ws syscall.WaitStatus) {
	code := ws.ExitStatus()
	if ws.Signaled() {
		code = 128 + int(ws.Signal())
		rec.Signal = unix.SignalName(ws.Signal())
	}
	rec.ExitCode = &code
}
