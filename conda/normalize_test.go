package conda

import (
	"strings"
	"testing"
	"testing/fstest"
)

const baseSpec = `name: base
channels: [conda-forge, defaults]
dependencies:
  - python=3.10
  - numpy==1.26
  - scipy
  - pip:
    - -r requirements.txt
    - requests>=2
`

func TestKeyEquivalence(t *testing.T) {
	reqs := fstest.MapFS{"requirements.txt": {Data: []byte("rich==13.0\ntyper\n")}}
	base := mustKey(t, baseSpec, reqs)
	tests := []struct {
		name string
		spec string
		reqs fstest.MapFS
		same bool
	}{
		{name: "identical", spec: baseSpec, same: true},
		{name: "renamed", spec: strings.Replace(baseSpec, "name: base", "name: other", 1), same: true},
		{name: "no name", spec: strings.Replace(baseSpec, "name: base\n", "", 1), same: true},
		{name: "prefix and unknown key", spec: baseSpec + "prefix: /x\nfoo: bar\n", same: true},
		{name: "comments and blank lines", spec: "# env\n\n" + strings.ReplaceAll(baseSpec, "\n", "  # c\n\n"), same: true},
		{name: "CRLF", spec: strings.ReplaceAll(baseSpec, "\n", "\r\n"), same: true},
		{name: "deps reordered", spec: strings.Replace(strings.Replace(baseSpec, "  - python=3.10\n", "", 1), "  - scipy\n", "  - scipy\n  - python=3.10\n", 1), same: true},
		{name: "pip reordered", spec: strings.Replace(strings.Replace(baseSpec, "    - requests>=2\n", "", 1), "    - -r", "    - requests>=2\n    - -r", 1), same: true},
		{name: "spaced operators, case", spec: strings.Replace(baseSpec, "numpy==1.26", "NumPy == 1.26", 1), same: true},
		{name: "pip name spelling", spec: strings.Replace(baseSpec, "requests>=2", "Requests >= 2", 1), same: true},
		{name: "duplicate dep", spec: strings.Replace(baseSpec, "  - scipy\n", "  - scipy\n  - scipy\n", 1), same: true},
		{name: "requirements comment", reqs: fstest.MapFS{"requirements.txt": {Data: []byte("# pinned\ntyper\nrich==13.0  # ui\n\n")}}, same: true},
		{name: "flow style", spec: "channels: [conda-forge, defaults]\ndependencies: [python=3.10, numpy==1.26, scipy, {pip: [-r requirements.txt, requests>=2]}]\n", same: true},
		{name: "pin changed", spec: strings.Replace(baseSpec, "numpy==1.26", "numpy==1.25", 1)},
		{name: "fuzzy vs exact pin", spec: strings.Replace(baseSpec, "numpy==1.26", "numpy=1.26", 1)},
		{name: "python changed", spec: strings.Replace(baseSpec, "python=3.10", "python=3.11", 1)},
		{name: "dep added", spec: baseSpec + "  - pandas\n"},
		{name: "pip pin changed", spec: strings.Replace(baseSpec, "requests>=2", "requests>=2.1", 1)},
		{name: "channels reordered", spec: strings.Replace(baseSpec, "[conda-forge, defaults]", "[defaults, conda-forge]", 1)},
		{name: "channel dropped", spec: strings.Replace(baseSpec, "[conda-forge, defaults]", "[conda-forge]", 1)},
		{name: "requirements content", reqs: fstest.MapFS{"requirements.txt": {Data: []byte("rich==13.1\ntyper\n")}}},
		{name: "variables", spec: baseSpec + "variables:\n  A: b\n"},
		{name: "pip moved to conda", spec: strings.Replace(strings.Replace(baseSpec, "    - requests>=2\n", "", 1), "  - scipy\n", "  - scipy\n  - requests>=2\n", 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec, r := tt.spec, tt.reqs
			if spec == "" {
				spec = baseSpec
			}
			if r == nil {
				r = reqs
			}
			if got := mustKey(t, spec, r); (got == base) != tt.same {
				t.Errorf("same key = %v, want %v", got == base, tt.same)
			}
		})
	}
}

func TestNormalizedText(t *testing.T) {
	reqs := fstest.MapFS{"requirements.txt": {Data: []byte("typer\nrich==13.0\n")}}
	s, err := ParseSpec([]byte(baseSpec+"variables:\n  B: \"1\"\n"), ".", mapReader(reqs))
	if err != nil {
		t.Fatal(err)
	}
	const want = `channels:
    - conda-forge
    - defaults
dependencies:
    - numpy==1.26
    - python=3.10
    - scipy
    - pip:
        - -r requirements.txt
        - requests>=2
variables:
    B: "1"
pip_requirements:
    requirements.txt:
        - rich==13.0
        - typer
`
	if got := string(s.Normalized()); got != want {
		t.Errorf("Normalized:\n%s\nwant:\n%s", got, want)
	}
	if k := s.Key(); len(k) != 64 || strings.Trim(k, "0123456789abcdef") != "" {
		t.Errorf("Key = %q, want 64 hex digits", k)
	}
}

func TestNormalizeConda(t *testing.T) {
	tests := []struct{ in, want string }{
		{"numpy", "numpy"},
		{"NumPy == 1.2", "numpy==1.2"},
		{"numpy==1.2", "numpy==1.2"},
		{"numpy=1.26.4=py311h64a7726_0", "numpy=1.26.4=py311h64a7726_0"},
		{"numpy 1.26.4 py311h64a7726_0", "numpy 1.26.4 py311h64a7726_0"},
		{"scipy >=1.11 , <2", "scipy>=1.11,<2"},
		{"conda-forge :: numpy>=1", "conda-forge::numpy>=1"},
		{"numpy[version='>=1.2']", "numpy[version='>=1.2']"},
		{"  pytorch  ", "pytorch"},
		{"cudatoolkit 11.8|12.1", "cudatoolkit 11.8|12.1"},
	}
	for _, tt := range tests {
		if got := normalizeConda(tt.in); got != tt.want {
			t.Errorf("normalizeConda(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestNormalizePip(t *testing.T) {
	tests := []struct{ in, want string }{
		{"requests", "requests"},
		{"Scikit_Learn >= 1.0", "scikit-learn>=1.0"},
		{"azureml.core==1.0", "azureml-core==1.0"},
		{"torch==2.2.0 ; platform_system == \"Linux\"", "torch==2.2.0; platform_system == \"Linux\""},
		{"uvicorn[Standard] >=0.20", "uvicorn[Standard]>=0.20"},
		{"pkg==1.0 --hash=sha256:abc", "pkg==1.0 --hash=sha256:abc"},
		{"MyPkg @ https://example.com/MyPkg-1.0.tar.gz", "mypkg@https://example.com/MyPkg-1.0.tar.gz"},
		{"git+https://github.com/Org/Repo.git@v1", "git+https://github.com/Org/Repo.git@v1"},
		{"./Local_Pkg", "./Local_Pkg"},
		{"dist/Foo-1.0-py3-none-any.whl", "dist/Foo-1.0-py3-none-any.whl"},
		{"Foo-1.0-py3-none-any.whl", "Foo-1.0-py3-none-any.whl"},
		{"--requirement=req.txt", "-r req.txt"},
		{"-rreq.txt", "-r req.txt"},
		{"--constraint  c.txt", "-c c.txt"},
		{"--index-url   https://example.com/simple", "--index-url https://example.com/simple"},
		{"-e .", "-e ."},
	}
	for _, tt := range tests {
		if got := normalizePip(tt.in); got != tt.want {
			t.Errorf("normalizePip(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func mustKey(t *testing.T, spec string, reqs fstest.MapFS) string {
	t.Helper()
	s, err := ParseSpec([]byte(spec), ".", mapReader(reqs))
	if err != nil {
		t.Fatalf("ParseSpec: %v", err)
	}
	return s.Key()
}
