package snapshot

import (
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// WalkEntry is one included file or symlink found by Walk.
type WalkEntry struct {
	// Path is relative to the walk's root, "/"-separated. It is a byte
	// string: non-UTF-8 names are kept exactly.
	Path string
	// Info is the entry's lstat result (Sys() is a *syscall.Stat_t; on
	// Linux only Dev, Ino, Mode, Size, Mtim and Ctim are filled in).
	Info fs.FileInfo
}

// WalkOptions tune Walk.
type WalkOptions struct {
	// Warn is called for entries skipped with a warning: FIFOs, sockets
	// and devices that the rules do not exclude, and ignore files that are
	// symlinks (not followed, so their rules do not apply). May be nil. Called from the walking goroutine(s); must be
	// safe for concurrent use.
	Warn func(path, reason string)
}

// walkWorkers bounds how many directories are read at once. Directory
// reads and lstats are syscall-bound; a few workers hide their latency
// without crowding a small machine.
const walkWorkers = 4

// Walk lists the regular files and symlinks under root that the snapshot
// includes, sorted by Path (byte order). Directories are not listed.
//
// The result equals what `git ls-files -o --exclude-standard` lists in a
// fresh repository at root with nothing tracked and no global or
// info/exclude rules, except that a directory's .ferryignore, else its
// .amlignore, is read instead of its .gitignore. Like git:
//   - an entry named ".git" is skipped at any depth, whatever its type;
//   - an excluded directory is not entered, so nothing under it can be
//     re-included;
//   - symlinks are listed as links (even to directories), never followed;
//   - empty directories produce nothing;
//   - an ignore file that is a symlink is not read (Warn is called).
//
// Ferry's own changes: the root's ".ferry" entry (ferry's state) is always
// skipped (deeper ".ferry" directories are ordinary user content); FIFOs,
// sockets and devices are skipped with Warn unless ignored; a directory
// holding a nested git repository is walked like any other directory
// (git would show it as one "dir/" entry) so that its files are uploaded.
//
// A missing root gives an error satisfying errors.Is(err, fs.ErrNotExist).
// An unreadable directory or ignore file that is not itself ignored is an
// error naming its path. Walk reads up to walkWorkers directories
// concurrently.
func Walk(root string, opts WalkOptions) ([]WalkEntry, error) {
	fi, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("walk source directory: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("walk source directory %s: not a directory", root)
	}
	return newWalker(root, opts).walk()
}

// newWalker returns a walker using the real file system.
func newWalker(root string, opts WalkOptions) *walker {
	w := &walker{
		root:     strings.TrimSuffix(root, "/"),
		warn:     opts.Warn,
		sem:      make(chan struct{}, walkWorkers-1),
		openDir:  openDir,
		readFile: os.ReadFile,
	}
	if w.root == "" {
		w.root = "/"
	}
	return w
}

// walk runs the walk once.
func (w *walker) walk() ([]WalkEntry, error) {
	w.run(dirJob{})
	w.wg.Wait()
	if w.err != nil {
		return nil, w.err
	}
	w.out = make([]WalkEntry, 0, w.count)
	w.emit("")
	w.dirs = nil
	return w.out, nil
}

// emit appends the files under directory rel to w.out in byte order: its
// own files (sorted) merged with its subdirectories' (sorted by name + "/",
// each emitted whole). A file name has no "/", so it sorts against
// everything under "sub/" as it sorts against "sub/" itself: no global sort
// is needed.
func (w *walker) emit(rel string) {
	d := w.dirs[rel]
	if d == nil {
		return
	}
	skip := len(rel) + 1 // the files' paths are rel + "/" + name
	if rel == "" {
		skip = 0
	}
	files, subs := d.files, d.subs
	for len(files) > 0 || len(subs) > 0 {
		if len(subs) == 0 || (len(files) > 0 && files[0].Path[skip:] < subs[0].key) {
			w.out = append(w.out, files[0])
			files = files[1:]
			continue
		}
		w.emit(subs[0].rel)
		subs = subs[1:]
	}
}

// walker holds the state of one Walk. Goroutines are started by run only
// while a slot in sem is free; otherwise the directory is walked inline,
// so the fan-out is bounded and can never deadlock.
type walker struct {
	root string
	warn func(path, reason string)
	sem  chan struct{}
	wg   sync.WaitGroup
	stop atomic.Bool
	read atomic.Int64 // directories read

	// openDir and readFile are the file system reads that can fail with
	// errors Walk must report; tests replace them to inject failures
	// (root can read anything).
	openDir  func(abs string) (*os.File, error)
	readFile func(abs string) ([]byte, error)

	mu    sync.Mutex
	dirs  map[string]*walkedDir // by relative path; joined in order by emit
	count int                   // files in dirs
	out   []WalkEntry
	err   error // the first error; it stops the walk
}

// walkedDir is what the walk found in one directory: its files sorted by
// name, and the subdirectories it walked sorted by name + "/".
type walkedDir struct {
	files []WalkEntry
	subs  []subdir
}

// subdir is one subdirectory walked: its relative path and its sort key
// among its parent's entries (its name + "/").
type subdir struct{ rel, key string }

// dirJob is one directory to read.
type dirJob struct {
	rel   string     // relative to root, "" for the root itself
	rules *ruleChain // ignore files of the parent directories
}

// run walks the directory of job and, recursively, its subdirectories.
func (w *walker) run(job dirJob) {
	if w.stop.Load() {
		return
	}
	subdirs, files, err := w.scanDir(job)
	if err != nil {
		w.fail(err)
		return
	}
	w.add(job.rel, files, subdirs)
	for _, sub := range subdirs {
		select {
		case w.sem <- struct{}{}:
			w.wg.Add(1)
			go func() {
				defer w.wg.Done()
				defer func() { <-w.sem }()
				w.run(sub)
			}()
		default:
			w.run(sub)
		}
	}
}

// scanDir reads one directory: it loads the directory's ignore file, sorts
// each entry into subdirectories to walk, files to keep, or nothing, and
// lstats the files kept (relative to the open directory).
func (w *walker) scanDir(job dirJob) ([]dirJob, []WalkEntry, error) {
	abs := w.abs(job.rel)
	w.read.Add(1)
	d, err := w.openDir(abs)
	if err != nil {
		return nil, nil, fmt.Errorf("read directory: %w", err)
	}
	defer d.Close()
	entries, err := readDirEntries(d)
	if err != nil {
		return nil, nil, fmt.Errorf("read directory %s: %w", abs, err)
	}
	rules, err := w.loadRules(job, entries)
	if err != nil {
		return nil, nil, err
	}
	subdirs, keep := w.classify(job, rules, entries)
	files, err := lstatEntries(d, abs, keep)
	if err != nil {
		return nil, nil, err
	}
	return subdirs, files, nil
}

// dirEntry is one entry of a directory: its name and its type bits.
type dirEntry struct {
	name string
	typ  fs.FileMode
}

// keptEntry is a regular file or symlink that the rules include.
type keptEntry struct {
	rel, name string
}

// classify applies the rules to the entries of directory job.
func (w *walker) classify(job dirJob, rules *ruleChain, entries []dirEntry) ([]dirJob, []keptEntry) {
	var subdirs []dirJob
	keep := make([]keptEntry, 0, len(entries))
	for _, e := range entries {
		name := e.name
		if name == ".git" || (job.rel == "" && name == ".ferry") {
			continue
		}
		rel := joinRel(job.rel, name)
		typ := e.typ
		if rules.excluded(rel, name, typ.IsDir()) {
			continue
		}
		switch {
		case typ.IsDir():
			subdirs = append(subdirs, dirJob{rel: rel, rules: rules})
		case typ.IsRegular() || typ&fs.ModeSymlink != 0:
			keep = append(keep, keptEntry{rel: rel, name: name})
		default:
			w.skip(rel, typ)
		}
	}
	return subdirs, keep
}

// loadRules reads the directory's ignore file, if any, and returns the
// chain of rules that applies to its entries.
func (w *walker) loadRules(job dirJob, entries []dirEntry) (*ruleChain, error) {
	name, symlinks := pickIgnoreFile(entries)
	for _, s := range symlinks {
		w.skip(joinRel(job.rel, s), fs.ModeSymlink)
	}
	if name == "" {
		return job.rules, nil
	}
	abs := w.abs(job.rel) + "/" + name
	data, err := w.readFile(abs)
	if err != nil {
		return nil, fmt.Errorf("read ignore file: %w", err)
	}
	f := parseIgnoreFile(data, job.rel)
	if len(f.patterns) == 0 {
		return job.rules, nil
	}
	return &ruleChain{file: f, parent: job.rules}, nil
}

// pickIgnoreFile returns the name of the directory's ignore file that
// wins (.ferryignore, then .amlignore, then .gitignore; regular files
// only), and the names of ignore files that were passed over because they
// are symlinks (ignored here, as git ignores a symlinked .gitignore).
func pickIgnoreFile(entries []dirEntry) (string, []string) {
	best := len(ignoreFileNames)
	var symlinks []string
	for _, e := range entries {
		for i, n := range ignoreFileNames {
			if e.name != n {
				continue
			}
			if e.typ.IsRegular() {
				best = min(best, i)
			} else if e.typ&fs.ModeSymlink != 0 {
				symlinks = append(symlinks, n)
			}
		}
	}
	if best == len(ignoreFileNames) {
		return "", symlinks
	}
	return ignoreFileNames[best], symlinks
}

// skip reports an entry that is left out with a warning.
func (w *walker) skip(rel string, typ fs.FileMode) {
	if w.warn == nil {
		return
	}
	var reason string
	switch {
	case typ&fs.ModeSymlink != 0:
		reason = "ignore file is a symlink; not followed, rules not applied"
	case typ&fs.ModeNamedPipe != 0:
		reason = "named pipe (FIFO) skipped"
	case typ&fs.ModeSocket != 0:
		reason = "socket skipped"
	case typ&fs.ModeDevice != 0:
		reason = "device skipped"
	default:
		reason = "irregular file skipped"
	}
	w.warn(rel, reason)
}

// add records directory rel's files and subdirectories, each sorted (by
// the goroutine that read the directory, so the sorting runs in parallel).
func (w *walker) add(rel string, files []WalkEntry, subdirs []dirJob) {
	if len(files) == 0 && len(subdirs) == 0 {
		return
	}
	slices.SortFunc(files, func(a, b WalkEntry) int { return strings.Compare(a.Path, b.Path) })
	d := &walkedDir{files: files, subs: make([]subdir, len(subdirs))}
	for i, sub := range subdirs {
		d.subs[i] = subdir{rel: sub.rel, key: sub.rel[strings.LastIndexByte(sub.rel, '/')+1:] + "/"}
	}
	slices.SortFunc(d.subs, func(a, b subdir) int { return strings.Compare(a.key, b.key) })
	w.mu.Lock()
	if w.dirs == nil {
		w.dirs = map[string]*walkedDir{}
	}
	w.dirs[rel] = d
	w.count += len(files)
	w.mu.Unlock()
}

func (w *walker) fail(err error) {
	w.stop.Store(true)
	w.mu.Lock()
	if w.err == nil {
		w.err = err
	}
	w.mu.Unlock()
}

func (w *walker) abs(rel string) string {
	switch {
	case rel == "":
		return w.root
	case w.root == "/":
		return "/" + rel
	}
	return w.root + "/" + rel
}

func joinRel(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}
