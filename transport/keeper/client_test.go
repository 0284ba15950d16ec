package keeper

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestConnectWaitsForAKeeperStartedBeside: a keeper started while another
// one holds the lock answers "running" at once, before the other listens
// (two requests of one command, each starting a keeper); the request still
// reaches the keeper that listens a moment later instead of failing.
func TestConnectWaitsForAKeeperStartedBeside(t *testing.T) {
	dir, err := os.MkdirTemp("/tmp", "kt")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "k", "s.sock")
	srv := NewServer(time.Minute, nil)
	srv.SetTrees(fakeTrees{"/src ": {Token: "abc.1"}})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	served := make(chan error, 1)
	k := &Client{Socket: sock, Start: func(context.Context) error {
		go func() { // the other keeper: it listens only now
			time.Sleep(100 * time.Millisecond)
			ln, err := Listen(sock)
			if err != nil {
				served <- err
				return
			}
			served <- srv.Serve(ctx, ln)
		}()
		return nil // "running"
	}}
	if got, err := k.TreeChanges(t.Context(), "/src", ""); err != nil || got.Token != "abc.1" {
		t.Fatalf("TreeChanges = %+v, %v; want the keeper that listened a moment later", got, err)
	}
	cancel()
	if err := <-served; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
}
