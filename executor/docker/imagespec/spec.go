// Package imagespec describes a docker environment's image without the
// Docker client: its cache key, its tag, and the build context that makes
// it. The ferry command computes the same key as the executor, so the plan,
// the run log and 'ferry env list' name an image alike.
package imagespec

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// Names and labels of the images ferry builds.
const (
	// ImageRepo is the repository of derived images: ferry-env:<key12>.
	ImageRepo = "ferry-env"
	// LabelKey labels a derived image with its full Key.
	LabelKey = "ferry.key"
	// CondaPrefix is where a conda spec is installed inside a derived
	// image; its bin directory leads PATH there.
	CondaPrefix = "/opt/ferry/env"
	// generatorVersion changes whenever the generated Dockerfile changes
	// shape, so old images are not reused for a new recipe.
	generatorVersion = "ferry-docker-4"
	// DockerfileName is the generated Dockerfile's name in the build
	// context; Spec.Context may not use it.
	DockerfileName = "Dockerfile.ferry"
	// condaDir is the build-context folder holding the project as the
	// conda spec sees it: the spec (as condaFileName) in its folder
	// (Spec.CondaDir), the pip files and local paths it names at their
	// places relative to it. It is copied to SourceDir in the image, so
	// pip, run from the spec's folder, finds them where it looks.
	// Spec.Context may not use it.
	condaDir      = "ferry-conda"
	condaFileName = "environment.yml"
	// SourceDir is where the conda layer's project copy lies in the image:
	// removed after the build, unless Spec.KeepSource.
	SourceDir = "/opt/ferry/src"
)

// Spec describes a docker environment's image.
type Spec struct {
	// BaseImage is the image to start from ("pytorch/pytorch:2.3.0"). It
	// is required unless Dockerfile is set (which names its own FROM).
	BaseImage string
	// Dockerfile is the user's Dockerfile content. When set it replaces
	// "FROM BaseImage" as the start of the generated Dockerfile.
	Dockerfile []byte
	// Context holds extra build-context files the Dockerfile may COPY, by
	// relative "/"-separated path ("environment.yml").
	Context map[string][]byte
	// CondaSpec is a conda environment file (environment.yml) to install
	// at CondaPrefix on top of the image; nil for none.
	CondaSpec []byte
	// CondaFiles are the pip -r/-c files CondaSpec names, by "/"-separated
	// path relative to the spec's folder (conda.Spec.PipRequirements).
	// Paths outside that folder are left for pip to find in the image.
	CondaFiles map[string][]byte
	// CondaKey is the cache key of CondaSpec's normalised form (from the
	// conda package). Empty: a hash of CondaSpec's bytes stands in.
	CondaKey string
	// CondaDir is the spec's folder in the project, "/"-separated ("" or
	// "." for its root). CondaFiles and CondaLocal keep their places
	// relative to it, so "../wheels" is laid out too.
	CondaDir string
	// CondaLocal holds the files of the local paths the spec's pip
	// section installs from (wheels, "-e ." folders, --find-links
	// folders), by path relative to the spec's folder. They are not
	// hashed here: CondaKey covers their content.
	CondaLocal map[string][]byte
	// KeepSource keeps the project copy at SourceDir in the image: an
	// editable pip install ("-e .") refers to it.
	KeepSource bool
}

// Derived reports whether s needs an image built (a Dockerfile or a conda
// spec) rather than the base image used as it is.
func (s Spec) Derived() bool {
	return len(bytes.TrimSpace(s.Dockerfile)) > 0 || len(s.CondaSpec) > 0
}

// Key is the cache key of s: the hex SHA-256 of its normalised inputs (base
// image, Dockerfile content with line endings and trailing blanks
// normalised, context files sorted by name, conda key). Specs with the same
// key make the same image, so an image labelled with it is reused.
func Key(s Spec) string {
	h := sha256.New()
	field := func(name string, value []byte) {
		fmt.Fprintf(h, "%s %d\n", name, len(value))
		h.Write(value)
		h.Write([]byte{'\n'})
	}
	field("generator", []byte(generatorVersion))
	field("base", []byte(strings.TrimSpace(s.BaseImage)))
	field("dockerfile", normaliseDockerfile(s.Dockerfile))
	names := sortedNames(s.Context)
	for _, name := range names {
		sum := sha256.Sum256(s.Context[name])
		field("context "+name, sum[:])
	}
	field("conda", []byte(condaKey(s)))
	field("conda dir", []byte(specDir(s)))
	field("keep source", []byte(fmt.Sprint(s.KeepSource)))
	for _, name := range sortedNames(s.CondaFiles) {
		sum := sha256.Sum256(s.CondaFiles[name])
		field("conda file "+name, sum[:])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// ImageName is the tag of the derived image for key: ferry-env:<key12>.
func ImageName(key string) string {
	if len(key) > 12 {
		key = key[:12]
	}
	return ImageRepo + ":" + key
}

// condaKey is s.CondaKey, or a hash of the spec's bytes, or "" for none.
func condaKey(s Spec) string {
	if len(s.CondaSpec) == 0 {
		return ""
	}
	if s.CondaKey != "" {
		return s.CondaKey
	}
	sum := sha256.Sum256(s.CondaSpec)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// normaliseDockerfile turns CRLF into LF and drops trailing blanks, so an
// editor's line-ending change does not rebuild.
func normaliseDockerfile(b []byte) []byte {
	b = bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
	lines := strings.Split(string(b), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t")
	}
	return []byte(strings.TrimRight(strings.Join(lines, "\n"), "\n"))
}

// dockerfile generates the Dockerfile of a derived image: the user's
// Dockerfile (or FROM BaseImage), then the conda layer when there is one.
func dockerfile(s Spec) []byte {
	var b strings.Builder
	if df := normaliseDockerfile(s.Dockerfile); len(df) > 0 {
		b.Write(df)
		b.WriteString("\n")
	} else {
		fmt.Fprintf(&b, "FROM %s\n", strings.TrimSpace(s.BaseImage))
	}
	if len(s.CondaSpec) > 0 {
		b.WriteString(condaLayer(s))
	}
	return []byte(b.String())
}

// specDir is the spec's folder in the build context's project copy.
func specDir(s Spec) string {
	if s.CondaDir == "" {
		return "."
	}
	return path.Clean(s.CondaDir)
}

// condaLayer installs the conda spec with whichever of micromamba, mamba
// and conda the image has, as root, then hands PATH to the environment and
// sets what activation sets (CONDA_PREFIX, CONDA_DEFAULT_ENV, CONDA_SHLVL).
// ENV_NAME is for mambaorg/micromamba images: their entrypoint runs
// "micromamba activate $ENV_NAME" (base by default, which would put
// /opt/conda first), so it activates ferry's prefix instead. The tools are
// also looked for where continuumio/miniconda3 and condaforge/miniforge3
// keep them (/opt/conda/bin) and where mambaorg/micromamba does (/bin), in
// case a Dockerfile left them off PATH. The tools run pip from the spec's
// folder in the project copy (SourceDir), which is removed afterwards
// unless an editable install refers to it; then it is made readable to
// the run's user.
// The command lines are the executor's own (package conda), so what works
// on a target works in an image.
func condaLayer(s Spec) string {
	cleanup := `rm -rf ` + SourceDir
	if s.KeepSource {
		cleanup = `chmod -R a+rX ` + SourceDir
	}
	return `USER root
COPY ` + condaDir + `/ ` + SourceDir + `/
RUN set -e; f=` + path.Join(SourceDir, specDir(s), condaFileName) + `; p=` + CondaPrefix + `; PATH="$PATH:/opt/conda/bin:/bin"; \
    if command -v micromamba >/dev/null 2>&1; then micromamba create --yes --quiet --prefix "$p" --file "$f"; micromamba clean --all --yes >/dev/null 2>&1 || true; \
    elif command -v mamba >/dev/null 2>&1; then mamba env create --quiet --prefix "$p" --file "$f"; mamba clean --all --yes >/dev/null 2>&1 || true; \
    elif command -v conda >/dev/null 2>&1; then conda env create --quiet --prefix "$p" --file "$f"; conda clean --all --yes >/dev/null 2>&1 || true; \
    else echo "ferry: the image has none of micromamba, mamba, conda: cannot install the conda spec" >&2; exit 127; fi; \
    chmod -R a+rX "$p"; ` + cleanup + `
ENV PATH=` + CondaPrefix + `/bin:$PATH CONDA_PREFIX=` + CondaPrefix + ` CONDA_DEFAULT_ENV=` + CondaPrefix + ` CONDA_SHLVL=1 ENV_NAME=` + CondaPrefix + `
`
}

// validContextName reports whether name is a safe relative path in the
// build context that does not clash with the generated files.
func validContextName(name string) error {
	clean := path.Clean(name)
	switch {
	case name == "" || clean != name || path.IsAbs(name) || clean == ".." || strings.HasPrefix(clean, "../"):
		return fmt.Errorf("build-context file %q: not a clean relative path", name)
	case name == DockerfileName || name == condaDir || strings.HasPrefix(name, condaDir+"/"):
		return fmt.Errorf("build-context file %q: name reserved by ferry", name)
	}
	return nil
}

// sortedNames returns m's keys in order.
func sortedNames(m map[string][]byte) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Validate checks the parts of s a build needs.
func Validate(s Spec) error {
	if len(bytes.TrimSpace(s.Dockerfile)) == 0 && strings.TrimSpace(s.BaseImage) == "" {
		return errors.New("docker environment: a conda spec needs a base image or a Dockerfile")
	}
	for name := range s.Context {
		if err := validContextName(name); err != nil {
			return err
		}
	}
	return nil
}

// Files returns the build context of a derived image by name: the
// generated Dockerfile (DockerfileName), the project copy of the conda
// layer (the spec in its folder, the pip files and local paths it names
// at their places relative to it; those outside the project are left for
// pip to find in the image), and Spec.Context.
func Files(s Spec) map[string][]byte {
	files := map[string][]byte{DockerfileName: dockerfile(s)}
	if len(s.CondaSpec) > 0 {
		dir := specDir(s)
		for _, m := range []map[string][]byte{s.CondaFiles, s.CondaLocal} {
			for name, data := range m {
				if rel := path.Join(dir, name); !path.IsAbs(name) && fs.ValidPath(rel) && rel != "." {
					files[condaDir+"/"+rel] = data
				}
			}
		}
		files[condaDir+"/"+path.Join(dir, condaFileName)] = s.CondaSpec
	}
	for name, data := range s.Context {
		files[name] = data
	}
	return files
}
