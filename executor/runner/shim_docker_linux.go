package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/ferry-ml/ferry/executor/docker"
)

// Why the shim stopped a container before it exited on its own.
type stopCause int

const (
	stopNone stopCause = iota
	stopCanceled
	stopTimedOut
)

// runDocker runs the script in the container s.cfg.Docker describes,
// stopping it (SIGTERM, SIGKILL after KillGrace) on cancel or at the time
// limit; docker.Client.Run removes the container in every case.
func (s *shim) runDocker(signals <-chan os.Signal, ready func()) exitRecord {
	d := s.cfg.Docker
	c, err := docker.New(s.log.Named("docker"))
	if err != nil {
		ready()
		return s.dockerFailed(err)
	}
	defer c.Close()
	logf, err := os.OpenFile(s.paths.log(), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		ready()
		return s.dockerFailed(fmt.Errorf("open log: %w", err))
	}
	defer logf.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	causeC := make(chan stopCause, 1)
	done := make(chan struct{})
	go s.watchStop(signals, done, causeC, cancel)
	ready()
	s.log.Debug("starting container", "image", d.Image, "name", d.Name)
	exit, err := c.Run(ctx, docker.RunOptions{
		Image: d.Image, Name: d.Name, Argv: d.Argv, Env: d.Env,
		WorkDir: d.WorkDir, MountPoint: containerWork, Mounts: d.Mounts,
		User: d.User, GPUs: d.GPUs, ShmSize: d.ShmSize, Args: d.Args, Labels: d.Labels,
		Log: logf, StopGrace: s.cfg.KillGrace,
	})
	close(done)
	cause := <-causeC
	rec := exitRecord{OOMKilled: exit.OOMKilled}
	if code := exit.Code; code >= 0 {
		rec.ExitCode = &code
	}
	switch {
	case err != nil && errors.Is(err, context.Canceled) && cause == stopCanceled:
		rec.Canceled = true
	case err != nil && errors.Is(err, context.Canceled) && cause == stopTimedOut:
		rec.TimedOut = true
	case err != nil:
		failed := s.dockerFailed(err)
		failed.ExitCode = rec.ExitCode
		return failed
	}
	return rec
}

// watchStop cancels the run's context on a cancel signal or at the time
// limit and reports why on causeC (stopNone once done closes first). It
// sends exactly one value.
func (s *shim) watchStop(signals <-chan os.Signal, done <-chan struct{}, causeC chan<- stopCause, cancel func()) {
	var deadline <-chan time.Time
	if s.cfg.MaxDuration > 0 {
		t := time.NewTimer(s.cfg.MaxDuration)
		defer t.Stop()
		deadline = t.C
	}
	select {
	case sig := <-signals:
		s.log.Debug("cancel requested", "signal", sig)
		causeC <- stopCanceled
		cancel()
	case <-deadline:
		causeC <- stopTimedOut
		cancel()
	case <-done:
		causeC <- stopNone
	}
}

// dockerFailed is the exit record of a container that could not run; the
// reason also goes to the run's log.
func (s *shim) dockerFailed(err error) exitRecord {
	reason := fmt.Sprintf("run container: %v", err)
	s.appendLog(reason)
	return exitRecord{Reason: reason}
}
