package keeper

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// Spawner returns a Client.Start that runs argv as a keeper in its own
// session, detached from the command's terminal, in "/" (so that it keeps
// no folder of the command's busy), its stderr appended to logPath (a Go
// panic lands there), with the write end of a pipe as its fd 3: the keeper
// writes "ok" there once it listens, or "running" when another keeper has
// the socket, then closes it (Ready).
func Spawner(argv, env []string, logPath string) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		r, w, err := os.Pipe()
		if err != nil {
			return err
		}
		defer r.Close()
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env, cmd.Dir = env, "/"
		if err := os.MkdirAll(filepath.Dir(logPath), 0o700); err == nil {
			if f, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600); err == nil {
				defer f.Close()
				cmd.Stderr = f
			}
		}
		cmd.ExtraFiles = []*os.File{w}
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		err = cmd.Start()
		w.Close()
		if err != nil {
			return fmt.Errorf("start %s: %w", argv[0], err)
		}
		// Reaped by nobody once we exit: init adopts it.
		go cmd.Wait()
		return readReady(ctx, r)
	}
}

// readReady waits for the keeper's word on r.
func readReady(ctx context.Context, r *os.File) error {
	got := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(io.LimitReader(r, 4096))
		got <- strings.TrimSpace(string(b))
	}()
	select {
	case s := <-got:
		switch s {
		case "ok", "running":
			return nil
		case "":
			return errors.New("keeper exited before it listened")
		}
		return fmt.Errorf("keeper: %s", s)
	case <-ctx.Done():
		r.Close()
		return fmt.Errorf("keeper did not start: %w", context.Cause(ctx))
	}
}

// Ready tells the command that started this keeper how it went: err nil
// ("ok"), ErrRunning ("running"), else the error's text. It closes fd 3;
// nothing happens when fd 3 is not a pipe (a keeper started by hand).
func Ready(err error) {
	f := os.NewFile(3, "ready")
	if f == nil {
		return
	}
	if st, serr := f.Stat(); serr != nil || st.Mode()&os.ModeNamedPipe == 0 {
		return
	}
	defer f.Close()
	switch {
	case err == nil:
		io.WriteString(f, "ok\n")
	case errors.Is(err, ErrRunning):
		io.WriteString(f, "running\n")
	default:
		io.WriteString(f, err.Error()+"\n")
	}
}
