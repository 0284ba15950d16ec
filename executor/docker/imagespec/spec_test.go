package imagespec

import (
	"slices"
	"strings"
	"testing"
)

func TestKey(t *testing.T) {
	base := Spec{BaseImage: "img:1", Dockerfile: []byte("FROM img:1\nRUN echo hi\n"),
		Context: map[string][]byte{"a.txt": []byte("a")}, CondaSpec: []byte("name: x\n")}
	same := func(s Spec) Spec { return s }
	tests := []struct {
		name  string
		edit  func(Spec) Spec
		equal bool
	}{
		{"identical", same, true},
		{"crlf and trailing blanks", func(s Spec) Spec { s.Dockerfile = []byte("FROM img:1  \r\nRUN echo hi\r\n\r\n"); return s }, true},
		{"base image spaces", func(s Spec) Spec { s.BaseImage = " img:1 "; return s }, true},
		{"conda key given", func(s Spec) Spec { s.CondaKey = "k1"; return s }, false},
		{"base image", func(s Spec) Spec { s.BaseImage = "img:2"; return s }, false},
		{"dockerfile", func(s Spec) Spec { s.Dockerfile = []byte("FROM img:1\nRUN echo ho\n"); return s }, false},
		{"context content", func(s Spec) Spec { s.Context = map[string][]byte{"a.txt": []byte("b")}; return s }, false},
		{"context name", func(s Spec) Spec { s.Context = map[string][]byte{"b.txt": []byte("a")}; return s }, false},
		{"conda spec", func(s Spec) Spec { s.CondaSpec = []byte("name: y\n"); return s }, false},
		{"no conda", func(s Spec) Spec { s.CondaSpec = nil; return s }, false},
		{"pip file", func(s Spec) Spec { s.CondaFiles = map[string][]byte{"req.txt": []byte("torch")}; return s }, false},
	}
	want := Key(base)
	if len(want) != 64 {
		t.Fatalf("Key length %d, want 64 hex", len(want))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Key(tt.edit(base))
			if (got == want) != tt.equal {
				t.Errorf("Key equal = %v, want %v", got == want, tt.equal)
			}
		})
	}
}

func TestCondaKeyReplacesSpecBytes(t *testing.T) {
	a := Spec{BaseImage: "b", CondaSpec: []byte("x"), CondaKey: "k"}
	b := Spec{BaseImage: "b", CondaSpec: []byte("y"), CondaKey: "k"}
	if Key(a) != Key(b) {
		t.Error("specs with the same conda key got different keys")
	}
}

func TestImageName(t *testing.T) {
	key := Key(Spec{BaseImage: "x"})
	if got := ImageName(key); got != "ferry-env:"+key[:12] {
		t.Errorf("ImageName = %q", got)
	}
}

func TestDockerfile(t *testing.T) {
	tests := []struct {
		name    string
		spec    Spec
		want    []string
		notWant []string
	}{
		{"base and conda", Spec{BaseImage: "img:1", CondaSpec: []byte("c")},
			[]string{"FROM img:1\n", "COPY ferry-conda/ /opt/ferry/src/", "f=/opt/ferry/src/environment.yml;", "rm -rf /opt/ferry/src\n", "micromamba create --yes --quiet --prefix \"$p\" --file \"$f\"", "ENV PATH=/opt/ferry/env/bin:$PATH"}, nil},
		{"spec in a folder, editable install", Spec{BaseImage: "img:1", CondaSpec: []byte("c"), CondaDir: "env", KeepSource: true},
			[]string{"f=/opt/ferry/src/env/environment.yml;", "chmod -R a+rX /opt/ferry/src\n"}, []string{"rm -rf"}},
		{"user dockerfile only", Spec{BaseImage: "ignored", Dockerfile: []byte("FROM u\r\nRUN x\r\n")},
			[]string{"FROM u\nRUN x\n"}, []string{"ignored", "micromamba"}},
		{"user dockerfile and conda", Spec{Dockerfile: []byte("FROM u\n"), CondaSpec: []byte("c")},
			[]string{"FROM u\nUSER root\n", "conda env create"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(dockerfile(tt.spec))
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("Dockerfile lacks %q:\n%s", w, got)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(got, w) {
					t.Errorf("Dockerfile has %q:\n%s", w, got)
				}
			}
		})
	}
}

func TestValidateSpec(t *testing.T) {
	tests := []struct {
		name string
		spec Spec
		ok   bool
	}{
		{"dockerfile", Spec{Dockerfile: []byte("FROM x")}, true},
		{"conda needs base", Spec{CondaSpec: []byte("c")}, false},
		{"nested context", Spec{BaseImage: "b", CondaSpec: []byte("c"), Context: map[string][]byte{"d/e.txt": nil}}, true},
		{"escaping context", Spec{BaseImage: "b", CondaSpec: []byte("c"), Context: map[string][]byte{"../e": nil}}, false},
		{"absolute context", Spec{BaseImage: "b", CondaSpec: []byte("c"), Context: map[string][]byte{"/e": nil}}, false},
		{"reserved name", Spec{BaseImage: "b", CondaSpec: []byte("c"), Context: map[string][]byte{DockerfileName: nil}}, false},
		{"reserved folder", Spec{BaseImage: "b", CondaSpec: []byte("c"), Context: map[string][]byte{condaDir + "/x": nil}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := Validate(tt.spec); (err == nil) != tt.ok {
				t.Errorf("Validate = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestFilesHoldPipFiles(t *testing.T) {
	files := Files(Spec{BaseImage: "b", CondaSpec: []byte("c"), CondaFiles: map[string][]byte{
		"req.txt": []byte("r"), "sub/c.txt": []byte("c"), "../up.txt": []byte("u"), "/abs.txt": []byte("a"),
	}})
	names := sortedNames(files)
	want := []string{DockerfileName, "ferry-conda/environment.yml", "ferry-conda/req.txt", "ferry-conda/sub/c.txt"}
	if !slices.Equal(names, want) {
		t.Errorf("build context = %q, want %q (files outside the spec's folder are left to pip)", names, want)
	}
	if string(files["ferry-conda/sub/c.txt"]) != "c" {
		t.Errorf("sub/c.txt = %q", files["ferry-conda/sub/c.txt"])
	}
}

// TestFilesMirrorProject: with the spec in a folder, the context holds the
// project as the spec sees it: local paths above the spec too, nothing
// outside the project; the layout and KeepSource change the key, the local
// files' bytes do not (CondaKey covers them).
func TestFilesMirrorProject(t *testing.T) {
	s := Spec{BaseImage: "b", CondaSpec: []byte("c"), CondaKey: "k", CondaDir: "env",
		CondaFiles: map[string][]byte{"req.txt": []byte("r")},
		CondaLocal: map[string][]byte{"wheels/a.whl": []byte("a"), "../shared/b.whl": []byte("b"), "../../out.whl": []byte("o")}}
	names := sortedNames(Files(s))
	want := []string{DockerfileName, "ferry-conda/env/environment.yml", "ferry-conda/env/req.txt", "ferry-conda/env/wheels/a.whl", "ferry-conda/shared/b.whl"}
	if !slices.Equal(names, want) {
		t.Errorf("build context = %q, want %q", names, want)
	}
	k := Key(s)
	other := s
	other.CondaLocal = map[string][]byte{"wheels/a.whl": []byte("changed")}
	if Key(other) != k {
		t.Error("local files' bytes changed the key (CondaKey covers them)")
	}
	other = s
	other.KeepSource = true
	if Key(other) == k {
		t.Error("KeepSource kept the key")
	}
	other = s
	other.CondaDir = "."
	if Key(other) == k {
		t.Error("another spec folder kept the key")
	}
}
