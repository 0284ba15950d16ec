package conda

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestPackPrefixRelocates(t *testing.T) {
	prefix := filepath.Join(t.TempDir(), "env")
	files := map[string]string{
		"bin/tool":        "#!" + prefix + "/bin/python3 -E\nimport tool\n",
		"bin/keep":        "#!" + prefix + "/bin/python3\n# built in " + prefix + "\n",
		"bin/other":       "#!/bin/sh\necho hi\n",
		"lib/site.py":     "#!" + prefix + "/bin/python3\n",
		".ferry/COMPLETE": "{}",
	}
	for name, body := range files {
		p := filepath.Join(prefix, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	mustSymlink(t, filepath.Join(prefix, "bin", "tool"), filepath.Join(prefix, "bin", "tool-link"))
	mustSymlink(t, "/usr/bin/python3", filepath.Join(prefix, "bin", "python"))
	var buf bytes.Buffer
	if err := PackPrefix(t.Context(), prefix, &buf); err != nil {
		t.Fatal(err)
	}
	got := readTar(t, &buf)
	want := map[string]string{
		"bin/tool":      "#!/usr/bin/env python3 -E\nimport tool\n",
		"bin/keep":      files["bin/keep"], // the prefix appears elsewhere: kept
		"bin/other":     files["bin/other"],
		"lib/site.py":   files["lib/site.py"], // not in bin/
		"bin/tool-link": "-> tool",
		"bin/python":    "-> /usr/bin/python3",
	}
	for name, body := range want {
		if got[name] != body {
			t.Errorf("%s = %q, want %q", name, got[name], body)
		}
	}
	if _, ok := got[".ferry/COMPLETE"]; ok {
		t.Errorf("ferry's metadata was packed")
	}
}

func mustSymlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// readTar returns each regular file's content and each link as "-> target".
func readTar(t *testing.T, r io.Reader) map[string]string {
	t.Helper()
	zr, err := gzip.NewReader(r)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	out := map[string]string{}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		switch hdr.Typeflag {
		case tar.TypeSymlink:
			out[hdr.Name] = "-> " + hdr.Linkname
		case tar.TypeReg:
			data, _ := io.ReadAll(tr)
			out[hdr.Name] = string(data)
		}
	}
}
