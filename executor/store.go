package executor

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/go-hclog"
)

// tmpPrefix starts the name of every temp file the store creates in tmp/,
// so that cleaning on start never touches other files there (the agent
// uploads executables to tmp/ too).
const tmpPrefix = ".store-"

// Store is the content-addressed blob and manifest store under a state
// directory. It is safe for concurrent use; only one Store (one daemon)
// may use a state directory at a time (see Lock).
type Store struct {
	dir      string
	blobsDir string // dir/blobs
	log      hclog.Logger
	idx      *index
	// ingestSem bounds the packs ingested at once, across requests.
	ingestSem chan struct{}

	// pending holds the blobs ingested but not yet made durable (see
	// commit and makeDurable), with their stat; pendMu guards it.
	pendMu  sync.Mutex
	pending map[[32]byte]blobStat

	spare spares // see spare.go

	// verified remembers manifests whose every blob was checked present
	// when stored, with the count of blob removals at that moment: while
	// no blob was removed since, a delta against one needs only its new
	// blobs checked (see verified.go).
	verified verifiedSet

	// manifests keeps the last decoded manifests (manifestcache.go).
	manifests manifestCache

	// copyTrees makes run trees of copies (reflinks where the file system
	// clones) instead of hardlinks to blobs: set when the executor, and so
	// every run and every docker run it starts, is root, for whom a 0444
	// link is no protection (see Materialize).
	copyTrees bool
	// canPlace: streamed blobs go straight to their final names as
	// unnamed files (place_linux.go).
	canPlace bool
	// noClone is set once FICLONE failed as unsupported here.
	noClone atomic.Bool
}

// OpenStore prepares the state directory, removes temp files a crash left
// behind and loads the blob index.
func OpenStore(stateDir string, logger hclog.Logger) (*Store, error) {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	if err := PrepareStateDir(stateDir); err != nil {
		return nil, err
	}
	s := &Store{dir: stateDir, blobsDir: filepath.Join(stateDir, BlobsDir), log: logger, ingestSem: make(chan struct{}, max(2, runtime.NumCPU())),
		pending: make(map[[32]byte]blobStat), copyTrees: os.Geteuid() == 0}
	if err := s.cleanTmp(); err != nil {
		return nil, err
	}
	if err := s.makeShards(); err != nil {
		return nil, err
	}
	s.canPlace = canPlace(s.path(TmpDir))
	idx, err := openIndex(s.path(IndexDir), s.path(TmpDir), logger.Named("index"))
	if err != nil {
		return nil, err
	}
	s.idx = idx
	s.cleanSpares()
	return s, nil
}

// Dir returns the state directory.
func (s *Store) Dir() string { return s.dir }

func (s *Store) path(elem ...string) string {
	return filepath.Join(append([]string{s.dir}, elem...)...)
}

func (s *Store) blobPath(id [32]byte) string {
	var h [64]byte
	hex.Encode(h[:], id[:])
	return s.blobsDir + string(os.PathSeparator) + string(h[:2]) + string(os.PathSeparator) + string(h[:])
}

func (s *Store) cleanTmp() error {
	ents, err := os.ReadDir(s.path(TmpDir))
	if err != nil {
		return fmt.Errorf("read tmp: %w", err)
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), tmpPrefix) {
			if err := os.Remove(s.path(TmpDir, e.Name())); err != nil {
				return fmt.Errorf("remove stale temp file: %w", err)
			}
		}
	}
	return nil
}

// makeShards creates the 256 blob directories once, so that ingest never
// has to create (and fsync) a directory.
func (s *Store) makeShards() error {
	for i := range 256 {
		d := s.path(BlobsDir, fmt.Sprintf("%02x", i))
		if err := os.Mkdir(d, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("create blob directory: %w", err)
		}
	}
	return nil
}

// Missing returns those of ids the store lacks, in request order. A blob
// whose file was touched since it was verified (see the package
// documentation) is re-hashed; with verify every blob is. A blob that does
// not match its id is deleted and reported missing.
func (s *Store) Missing(ctx context.Context, ids []string, verify bool) ([]string, error) {
	parsed := make([][32]byte, len(ids))
	for i, h := range ids {
		id, err := parseID(h)
		if err != nil {
			return nil, &RequestError{Err: err}
		}
		parsed[i] = id
	}
	have := make([]bool, len(ids))
	var mu sync.Mutex
	verified := make(map[[32]byte]blobStat)
	err := parallel(ctx, 8, len(ids), func(i int) error {
		st, ok, fresh, err := s.check(parsed[i], verify)
		if err != nil {
			return err
		}
		have[i] = ok
		if fresh {
			mu.Lock()
			verified[parsed[i]] = st
			mu.Unlock()
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := s.idx.add(verified); err != nil {
		s.log.Warn("recording verified blobs", "error", err)
	}
	missing := []string{}
	for i, ok := range have {
		if !ok {
			missing = append(missing, hex.EncodeToString(parsed[i][:]))
		}
	}
	return missing, nil
}

// has reports whether the blob is present and trusted, re-hashing it when
// its stat does not match the index.
func (s *Store) has(id [32]byte) (bool, error) {
	st, ok, fresh, err := s.check(id, false)
	if err == nil && fresh {
		err = s.idx.add(map[[32]byte]blobStat{id: st})
	}
	return ok, err
}

// check looks at one blob. fresh reports that it was hashed now and st
// should go into the index.
func (s *Store) check(id [32]byte, verify bool) (st blobStat, ok, fresh bool, err error) {
	p := s.blobPath(id)
	fi, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return blobStat{}, false, false, nil
	}
	if err != nil {
		return blobStat{}, false, false, fmt.Errorf("stat blob %x: %w", id[:4], err)
	}
	st = statOf(fi)
	known, indexed := s.idx.lookup(id)
	if !verify && indexed && known == st && fi.Mode() == 0o444 {
		return st, true, false, nil
	}
	if pst, pending := s.pendingStat(id); !verify && pending && pst == st && fi.Mode() == 0o444 {
		// Written and verified by this daemon, not yet durable: present,
		// but it goes into the index only through makeDurable.
		return st, true, false, nil
	}
	good, err := hashMatches(p, id)
	if err != nil {
		return blobStat{}, false, false, err
	}
	if !good || !fi.Mode().IsRegular() {
		s.log.Warn("removing corrupt blob", "blob", hex.EncodeToString(id[:4]), "size", fi.Size())
		s.verified.blobRemoved()
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return blobStat{}, false, false, fmt.Errorf("remove corrupt blob: %w", err)
		}
		return blobStat{}, false, false, nil
	}
	if fi.Mode() != 0o444 {
		if err := os.Chmod(p, 0o444); err != nil {
			return blobStat{}, false, false, fmt.Errorf("chmod blob: %w", err)
		}
		if fi, err = os.Lstat(p); err != nil {
			return blobStat{}, false, false, fmt.Errorf("stat blob: %w", err)
		}
		st = statOf(fi)
	}
	if _, pending := s.pendingStat(id); pending {
		return st, true, false, nil // indexed only once durable
	}
	return st, true, true, nil
}

func hashMatches(path string, id [32]byte) (bool, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("open blob: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return false, fmt.Errorf("hash blob: %w", err)
	}
	return [32]byte(h.Sum(nil)) == id, nil
}

func parseID(s string) ([32]byte, error) {
	var id [32]byte
	if len(s) != 64 {
		return id, fmt.Errorf("bad id %.70q: want 64 hex digits", s)
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return id, fmt.Errorf("bad id %q: %w", s, err)
	}
	return id, nil
}
