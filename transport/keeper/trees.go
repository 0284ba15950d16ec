package keeper

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"unicode/utf8"
)

// Trees vouches for local directory trees: Changes names the state of the
// tree at root with a token, and a token asked later equals it only if
// nothing a snapshot of the tree includes changed in between ("": cannot
// tell); given an earlier token (since), it names the directories changed
// after it where it can. The keeper has none of its own; the command that
// runs it sets one (SetTrees), so that this package knows nothing of
// snapshots.
type Trees interface {
	Changes(root, since string) (TreeState, error)
}

// TreeState answers a tree request (snapshot.TreeChanges on the wire).
type TreeState struct {
	Token string `json:"token,omitempty"`
	// Known: Dirs and Whole name every directory changed since the
	// request's Since (relative, "/"-separated, "" the root): Dirs those
	// whose own entries changed, Whole those that appeared.
	Known bool     `json:"known,omitempty"`
	Dirs  []string `json:"dirs,omitempty"`
	Whole []string `json:"whole,omitempty"`
}

// SetTrees makes the keeper answer tree requests with t.
func (s *Server) SetTrees(t Trees) {
	s.mu.Lock()
	s.trees = t
	s.mu.Unlock()
}

// tree answers a tree request.
func (s *Server) tree(c net.Conn, req request) error {
	s.mu.Lock()
	t := s.trees
	s.mu.Unlock()
	if t == nil {
		return writeLine(c, response{})
	}
	st, err := t.Changes(req.Path, req.Since)
	if err != nil {
		s.log.Debug("tree state", "root", req.Path, "error", err)
		return writeLine(c, response{Error: err.Error()})
	}
	if b, _ := json.Marshal(st); len(b) >= maxLine-64 || !validNames(st) {
		// Too many to name, or a name JSON cannot carry exactly (it
		// would arrive with U+FFFD in place of its bytes): the snapshot
		// walks.
		st = TreeState{Token: st.Token}
	}
	return writeLine(c, response{TreeState: st})
}

// TreeChanges asks the keeper (starting one if none answers and k.Start
// is set) about the local tree at root, absolute and clean, and what
// changed in it since the token since ("": none); a "" token means the
// keeper cannot vouch for it.
func (k *Client) TreeChanges(ctx context.Context, root, since string) (TreeState, error) {
	if !utf8.ValidString(root) {
		return TreeState{}, nil // JSON cannot carry the path exactly: no token
	}
	c, err := k.connect(ctx)
	if err != nil {
		return TreeState{}, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	if err := writeLine(c, request{Op: opTree, Path: root, Since: since}); err != nil {
		return TreeState{}, fmt.Errorf("keeper request: %w", err)
	}
	// Nothing follows the response: it may be read ahead.
	line, err := bufio.NewReaderSize(c, maxLine).ReadSlice('\n')
	if err != nil {
		return TreeState{}, fmt.Errorf("keeper response: %w", err)
	}
	var resp response
	if err := json.Unmarshal(line, &resp); err != nil {
		return TreeState{}, fmt.Errorf("keeper response: %w", err)
	}
	if err := resp.err(); err != nil {
		return TreeState{}, err
	}
	return resp.TreeState, nil
}

// validNames reports whether every folder named is valid UTF-8.
func validNames(st TreeState) bool {
	for _, l := range [][]string{st.Dirs, st.Whole} {
		for _, d := range l {
			if !utf8.ValidString(d) {
				return false
			}
		}
	}
	return true
}
