package conda

import (
	"errors"
	"io/fs"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

// mapReader serves files from memory, as readFile, keyed by slash path.
func mapReader(files fstest.MapFS) func(string) ([]byte, error) {
	return func(name string) ([]byte, error) {
		return fs.ReadFile(files, filepath.ToSlash(filepath.Clean(name)))
	}
}

func TestParseSpecFields(t *testing.T) {
	const spec = `# a comment
name: demo
prefix: /opt/envs/demo
channels:
  - conda-forge
  - defaults
dependencies:
  - python=3.10
  - numpy=1.26.4=py311h64a7726_0
  - scipy >=1.11, <2
  - pandas==2.1.*
  - pip
  - pip:
      - -r requirements.txt
      - torch==2.2.0 ; platform_system == "Linux"
variables:
  OMP_NUM_THREADS: 4
  DEBUG: true
extra: 1
`
	files := fstest.MapFS{
		"proj/requirements.txt": {Data: []byte("requests>=2\n-r more/base.txt\n")},
		"proj/more/base.txt":    {Data: []byte("# base\nrich\n-r ../requirements.txt\n")},
	}
	s, err := ParseSpec([]byte(spec), "proj", mapReader(files))
	if err != nil {
		t.Fatal(err)
	}
	assertList(t, "channels", s.Channels, []string{"conda-forge", "defaults"})
	assertList(t, "conda", s.Conda, []string{"python=3.10", "numpy=1.26.4=py311h64a7726_0", "scipy >=1.11, <2", "pandas==2.1.*", "pip"})
	assertList(t, "pip", s.Pip, []string{"-r requirements.txt", `torch==2.2.0 ; platform_system == "Linux"`})
	assertList(t, "unknown", s.Unknown, []string{"extra"})
	if s.Name != "demo" || s.Prefix != "/opt/envs/demo" || s.Python != "3.10" {
		t.Errorf("name %q prefix %q python %q", s.Name, s.Prefix, s.Python)
	}
	wantVars := map[string]string{"OMP_NUM_THREADS": "4", "DEBUG": "true"}
	if !maps.Equal(s.Variables, wantVars) {
		t.Errorf("variables = %v, want %v", s.Variables, wantVars)
	}
	if got := keys(s.PipRequirements); got != "more/base.txt requirements.txt" {
		t.Errorf("requirement files = %q", got)
	}
	if w := s.Warnings(); len(w) != 2 || !strings.Contains(w[0], "/opt/envs/demo") || !strings.Contains(w[1], `"extra"`) {
		t.Errorf("warnings = %q", w)
	}
}

func TestPythonPin(t *testing.T) {
	tests := []struct{ dep, want string }{
		{"python=3.10", "3.10"},
		{"python==3.10.4", "==3.10.4"},
		{"python >=3.8, <3.12", ">=3.8,<3.12"},
		{"python=3.11.4=h955ad1f_0", "3.11.4"},
		{"conda-forge::Python 3.9 h123_0", "3.9"},
		{"python", ""},
		{"pythonnet=3.0", ""},
	}
	for _, tt := range tests {
		if got := pythonPin([]string{"numpy", tt.dep}); got != tt.want {
			t.Errorf("pythonPin(%q) = %q, want %q", tt.dep, got, tt.want)
		}
	}
}

func TestParseSpecErrors(t *testing.T) {
	tests := []struct {
		name, spec, want string
	}{
		{"syntax", "name: a\ndependencies:\n  - numpy\n bad: [\n", "line 4: invalid YAML (did not find expected key)"},
		{"tab indent", "name: a\ndependencies:\n\t- numpy\n", "line 3: invalid YAML (found character that cannot start any token)"},
		{"dependencies not a list", "name: a\ndependencies:\n  numpy: 1\n", "line 3: dependencies must be a list, got a mapping"},
		{"channels not a list", "channels: conda-forge\n", "line 1: channels must be a list"},
		{"pip not a list", "dependencies:\n  - pip: numpy\n", "line 2: dependencies.pip must be a list"},
		{"unknown installer", "dependencies:\n  - numpy\n  - npm:\n    - left-pad\n", `line 3: dependencies: unknown installer "npm"`},
		{"null entry", "dependencies:\n  - numpy\n  -\n", "line 3: dependencies entries must be strings"},
		{"duplicate key", "name: a\ndependencies: []\ndependencies: [numpy]\n", `line 3: duplicate key "dependencies" (first at line 2)`},
		{"not a mapping", "- numpy\n- scipy\n", "line 1: environment file must be a mapping, got a list"},
		{"empty", "# only a comment\n", "line 1: empty environment file"},
		{"variables nested", "variables:\n  A:\n    B: c\n", "line 3: variables.A must be a string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseSpec([]byte(tt.spec), ".", mapReader(nil))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
			var syntax *SyntaxError
			var parse *ParseError
			if !errors.As(err, &syntax) && !errors.As(err, &parse) {
				t.Errorf("err %T is neither a SyntaxError nor a ParseError", err)
			}
		})
	}
}

func TestParseSpecMissingRequirements(t *testing.T) {
	_, err := ParseSpec([]byte("dependencies:\n  - pip:\n    - -r req.txt\n"), "proj", mapReader(fstest.MapFS{}))
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "read pip requirements req.txt") {
		t.Fatalf("err = %v, want a wrapped not-exist error", err)
	}
}

func TestParseSpecRequirementForms(t *testing.T) {
	files := fstest.MapFS{
		"p/a.txt": {Data: []byte("a\n")}, "p/b.txt": {Data: []byte("b\n")},
		"p/c.txt": {Data: []byte("c\n")}, "p/d.txt": {Data: []byte("d\n")},
		"p/e.txt": {Data: []byte("e\n")},
	}
	const spec = "dependencies:\n- pip:\n  - -ra.txt\n  - --requirement=b.txt\n  - --requirement c.txt\n" +
		"  - -c d.txt\n  - --constraint=./e.txt\n  - -r https://example.com/r.txt\n  - -e .\n"
	s, err := ParseSpec([]byte(spec), "p", mapReader(files))
	if err != nil {
		t.Fatal(err)
	}
	if got := keys(s.PipRequirements); got != "a.txt b.txt c.txt d.txt e.txt" {
		t.Errorf("requirement files = %q", got)
	}
}

func keys(m map[string][]byte) string {
	return strings.Join(slices.Sorted(maps.Keys(m)), " ")
}

func TestSelectorsAndReservedPath(t *testing.T) {
	s, err := ParseSpec([]byte("dependencies:\n- python=3.11\n- sel(linux): libgcc\n- sel(win): pywin32\n- sel(unix): bash\nvariables:\n  PATH: /x\n  A: b\n"), ".", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(s.Conda, ","); got != "python=3.11,libgcc,bash" {
		t.Fatalf("conda deps %q", got)
	}
	if w := strings.Join(s.Warnings(), ";"); !strings.Contains(w, "PATH is reserved") {
		t.Fatalf("warnings %q", w)
	}
	if v := SortedVariables(s.Variables); len(v) != 1 || v[0][0] != "A" {
		t.Fatalf("variables %v", v)
	}
	if _, err := ParseSpec([]byte("dependencies:\n- sel(amiga): x\n"), ".", nil); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("unknown selector: %v", err)
	}
}

func TestTermsOfServiceHint(t *testing.T) {
	err := &BuildError{Key: strings.Repeat("a", 64), Tool: "conda", Err: errors.New("exit status 1"),
		Tail: "CondaToSNonInteractiveError: Terms of Service have not been accepted for the following channels"}
	if msg := err.Error(); !strings.Contains(msg, "nodefaults") || !strings.Contains(msg, "conda tos accept") {
		t.Fatalf("message %q", msg)
	}
	other := &BuildError{Key: strings.Repeat("a", 64), Tool: "conda", Err: errors.New("exit status 1"), Tail: "nothing provides x"}
	if strings.Contains(other.Error(), "Terms of Service") {
		t.Fatalf("hint on another failure: %q", other.Error())
	}
}
