package keeper

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
)

// Trees vouches for local directory trees: Token names the state of the
// tree at root, and a token asked later equals it only if nothing a
// snapshot of the tree includes changed in between ("": cannot tell). The
// keeper has none of its own; the command that runs it sets one
// (SetTrees), so that this package knows nothing of snapshots.
type Trees interface {
	Token(root string) (string, error)
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
	tok, err := t.Token(req.Path)
	if err != nil {
		s.log.Debug("tree token", "root", req.Path, "error", err)
		return writeLine(c, response{Error: err.Error()})
	}
	return writeLine(c, response{Token: tok})
}

// TreeToken asks the keeper (starting one if none answers and k.Start is
// set) for the token of the local tree at root, absolute and clean; ""
// means the keeper cannot vouch for it.
func (k *Client) TreeToken(ctx context.Context, root string) (string, error) {
	c, err := k.connect(ctx)
	if err != nil {
		return "", err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	if err := writeLine(c, request{Op: opTree, Path: root}); err != nil {
		return "", fmt.Errorf("keeper request: %w", err)
	}
	// Nothing follows the response: it may be read ahead.
	line, err := bufio.NewReaderSize(c, 4096).ReadSlice('\n')
	if err != nil {
		return "", fmt.Errorf("keeper response: %w", err)
	}
	var resp response
	if err := json.Unmarshal(line, &resp); err != nil {
		return "", fmt.Errorf("keeper response: %w", err)
	}
	if err := resp.err(); err != nil {
		return "", err
	}
	return resp.Token, nil
}
