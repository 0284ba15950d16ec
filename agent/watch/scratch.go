package watch

import (
	"strconv"
	"strings"
)

// isScratch reports whether name (a base name) is an editor's scratch
// file: vim's swap files (.x.swp, .swo, ... .swx), backups (x~) and the
// 4913 probe file it creates to test that a directory is writable, Emacs'
// lock and autosave files (.#x, #x#), JetBrains' safe-write files
// (x___jb_tmp___, x___jb_old___) and the hidden temp files editors write
// before renaming over the real one (.x.tmp).
//
// These never trigger a rerun on their own: vim rewrites its swap file
// while you type, and a rerun per keystroke pause is not what anyone
// wants. They are still in the snapshot if the ignore rules let them in
// (so `ferry watch` uploads exactly what `ferry run` would); a rerun
// caused by a real change carries them along.
func isScratch(name string) bool {
	switch {
	case name == "":
		return false
	case strings.HasSuffix(name, "~"),
		strings.HasPrefix(name, ".#"),
		len(name) > 2 && name[0] == '#' && name[len(name)-1] == '#',
		strings.HasSuffix(name, "___jb_tmp___"), strings.HasSuffix(name, "___jb_old___"),
		name[0] == '.' && strings.HasSuffix(name, ".tmp"):
		return true
	}
	return isVimSwap(name) || isVimProbe(name)
}

// isVimSwap matches ".NAME.swp" through ".NAME.swa" and ".NAME.swx".
func isVimSwap(name string) bool {
	if len(name) < 6 || name[0] != '.' {
		return false
	}
	ext := name[len(name)-4:]
	return ext[:3] == ".sw" && ext[3] >= 'a' && ext[3] <= 'x'
}

// isVimProbe matches the file vim creates and deletes at once to check it
// may write a directory: "4913", or 4913+123k if that name is taken.
func isVimProbe(name string) bool {
	n, err := strconv.Atoi(name)
	return err == nil && n >= 4913 && (n-4913)%123 == 0 && n < 4913+123*100
}
