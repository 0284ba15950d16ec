// Package watch reruns a script each time its source directory's snapshot
// changes (`ferry watch`).
//
// A Watcher turns filesystem events (fsnotify, one inotify watch per
// directory on Linux) into debounced triggers; events are only hints. The
// Loop takes the snapshot on each trigger and starts a new run only when
// the snapshot differs from the one last run, so a change to an ignored
// file, an editor's scratch file or a save that leaves the content as it
// was does not rerun.
package watch
