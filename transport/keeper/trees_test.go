package keeper

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// fakeTrees answers tree requests from a map (a fake of the keeper's own
// interface; agent/watch tests the real one on inotify).
type fakeTrees map[string]TreeState

func (f fakeTrees) Changes(root, since string) (TreeState, error) {
	if st, ok := f[root+" "+since]; ok {
		return st, nil
	}
	return TreeState{}, errors.New("no such tree")
}

// TestTreeChanges: a tree request through the socket gets the keeper's
// Trees' answer (the earlier token passed on, the changed directories
// back), its error as an error, a list too long for one line or with a
// name that is not UTF-8 dropped (the token kept), no request for a root
// that is not UTF-8, and no token from a keeper without Trees.
func TestTreeChanges(t *testing.T) {
	st := startKeeper(t, time.Minute)
	k := st.client()
	if got, err := k.TreeChanges(t.Context(), "/src", ""); got.Token != "" || err != nil {
		t.Fatalf("keeper without trees: %+v, %v; want no token and no error", got, err)
	}
	changed := TreeState{Token: "abc.9", Known: true, Dirs: []string{"", "pkg"}, Whole: []string{"pkg"}}
	var long []string
	for i := range 3000 {
		long = append(long, fmt.Sprintf("data/some/deep/folder/%04d", i))
	}
	st.srv.SetTrees(fakeTrees{"/src ": {Token: "abc.7"}, "/src abc.7": changed,
		"/big abc.7": {Token: "abc.8", Known: true, Dirs: long},
		"/raw abc.7": {Token: "abc.9", Known: true, Dirs: []string{"caf\xe9"}}})
	if got, err := k.TreeChanges(t.Context(), "/src", ""); got.Token != "abc.7" || got.Known || err != nil {
		t.Fatalf("TreeChanges(/src) = %+v, %v; want token abc.7 alone", got, err)
	}
	if got, err := k.TreeChanges(t.Context(), "/src", "abc.7"); !reflect.DeepEqual(got, changed) || err != nil {
		t.Fatalf("TreeChanges(/src, abc.7) = %+v, %v; want %+v", got, err, changed)
	}
	if got, err := k.TreeChanges(t.Context(), "/big", "abc.7"); got.Token != "abc.8" || got.Known || got.Dirs != nil || err != nil {
		t.Fatalf("TreeChanges(/big) = %+v, %v; want the token, and no list too long for a line", got, err)
	}
	if got, err := k.TreeChanges(t.Context(), "/raw", "abc.7"); got.Token != "abc.9" || got.Known || got.Dirs != nil || err != nil {
		t.Fatalf("TreeChanges(/raw) = %+v, %v; want the token, and no folder name JSON would mangle", got, err)
	}
	if got, err := k.TreeChanges(t.Context(), "/src\xff", ""); got.Token != "" || err != nil {
		t.Fatalf("TreeChanges of a root JSON would mangle = %+v, %v; want no token and no request", got, err)
	}
	if got, err := k.TreeChanges(t.Context(), "/other", ""); got.Token != "" || err == nil || !strings.Contains(err.Error(), "no such tree") {
		t.Fatalf("TreeChanges(/other) = %+v, %v; want the keeper's error", got, err)
	}
	none := &Client{Socket: st.sock + ".none"}
	if _, err := none.TreeChanges(t.Context(), "/src", ""); err == nil {
		t.Fatal("no keeper and no Start: no error")
	}
}
