package keeper

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// fakeTrees answers tree requests from a map (a fake of the keeper's own
// interface; agent/watch tests the real one on inotify).
type fakeTrees map[string]string

func (f fakeTrees) Token(root string) (string, error) {
	if tok, ok := f[root]; ok {
		return tok, nil
	}
	return "", errors.New("no such tree")
}

// TestTreeToken: a tree request through the socket gets the keeper's
// Trees' answer, its error as an error, and no token from a keeper
// without Trees.
func TestTreeToken(t *testing.T) {
	st := startKeeper(t, time.Minute)
	k := st.client()
	if tok, err := k.TreeToken(t.Context(), "/src"); tok != "" || err != nil {
		t.Fatalf("keeper without trees: %q, %v; want no token and no error", tok, err)
	}
	st.srv.SetTrees(fakeTrees{"/src": "abc.7"})
	if tok, err := k.TreeToken(t.Context(), "/src"); tok != "abc.7" || err != nil {
		t.Fatalf("TreeToken(/src) = %q, %v; want abc.7", tok, err)
	}
	if tok, err := k.TreeToken(t.Context(), "/other"); tok != "" || err == nil || !strings.Contains(err.Error(), "no such tree") {
		t.Fatalf("TreeToken(/other) = %q, %v; want the keeper's error", tok, err)
	}
	none := &Client{Socket: st.sock + ".none"}
	if _, err := none.TreeToken(t.Context(), "/src"); err == nil {
		t.Fatal("no keeper and no Start: no error")
	}
}
