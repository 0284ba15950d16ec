package compute

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ferry-ml/ferry/internal/fsutil"
)

// ErrNotFound is returned for a target name that is not attached.
var ErrNotFound = errors.New("compute target not found")

// ErrExists is returned when attaching a name already in use.
var ErrExists = errors.New("compute target already exists")

// Store reads and writes targets under a directory.
type Store struct {
	dir string
}

// Open returns the store under home ($FERRY_HOME).
func Open(home string) *Store {
	return &Store{dir: filepath.Join(home, "targets")}
}

// Get returns the named target; "local" always exists.
func (s *Store) Get(name string) (Target, error) {
	if name == LocalName {
		return Local(), nil
	}
	if err := ValidateName(name); err != nil {
		return Target{}, err
	}
	data, err := os.ReadFile(s.path(name))
	if errors.Is(err, os.ErrNotExist) {
		return Target{}, fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	if err != nil {
		return Target{}, fmt.Errorf("read compute target %s: %w", name, err)
	}
	var t Target
	if err := json.Unmarshal(data, &t); err != nil {
		return Target{}, fmt.Errorf("read compute target %s: %s is corrupt: %w", name, s.path(name), err)
	}
	return t, nil
}

// List returns every target, "local" first, then by name.
func (s *Store) List() ([]Target, error) {
	ents, err := os.ReadDir(s.dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("list compute targets: %w", err)
	}
	out := []Target{Local()}
	var names []string
	for _, e := range ents {
		if n, ok := strings.CutSuffix(e.Name(), ".json"); ok && ValidateName(n) == nil {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		t, err := s.Get(n)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// Create saves a new target; it fails with ErrExists if the name is taken.
func (s *Store) Create(t Target) error {
	if err := t.Validate(); err != nil {
		return err
	}
	if _, err := os.Stat(s.path(t.Name)); err == nil {
		return fmt.Errorf("%w: %s", ErrExists, t.Name)
	}
	return s.Save(t)
}

// Save writes t (0600, atomically).
func (s *Store) Save(t Target) error {
	data, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return fmt.Errorf("encode compute target %s: %w", t.Name, err)
	}
	if err := fsutil.WriteFileAtomic(s.path(t.Name), append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("save compute target %s: %w", t.Name, err)
	}
	return nil
}

// Remove deletes the named target.
func (s *Store) Remove(name string) error {
	if name == LocalName {
		return fmt.Errorf("the local target is built in and cannot be detached")
	}
	if err := ValidateName(name); err != nil {
		return err
	}
	err := os.Remove(s.path(name))
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	if err != nil {
		return fmt.Errorf("detach compute target %s: %w", name, err)
	}
	return nil
}

func (s *Store) path(name string) string { return filepath.Join(s.dir, name+".json") }
