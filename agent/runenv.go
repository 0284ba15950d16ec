package agent

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/ferry-ml/ferry/agent/history"
	"github.com/ferry-ml/ferry/conda"
	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/executor/docker/imagespec"
	"github.com/ferry-ml/ferry/executor/docker/runargs"
	"github.com/ferry-ml/ferry/pipenv"
	"github.com/ferry-ml/ferry/snapshot"
)

// EnvChoice is the environment a run asks for, before resolution: from
// flags, a run configuration, or a portal's form.
type EnvChoice struct {
	Python string // the interpreter of a user-managed environment
	// PythonSet says Python was asked for (--python), not a default: a
	// docker run without a conda spec runs it in the container; a conda
	// environment, whose own python runs the script, warns.
	PythonSet   bool
	CondaFile   string // path of a conda spec file
	CondaInline []byte // an inline conda spec (runconfig condaDependencies)
	DockerImage string
	Dockerfile  string // path of a Dockerfile
	DockerText  string // Dockerfile content (runconfig baseDockerfile)
	GPUs        string // a --gpus value
	ShmSize     string
	DockerArgs  []string // extra docker run arguments
	// Requirements is a pip requirements file (a path); the environment is
	// a venv of Python built on the target. It must lie in Source.
	Requirements string
	// Source is the run's source directory, which pip paths resolve in.
	Source string
}

// ResolvedEnv is an environment resolved: what the plan shows and records,
// and what the executor receives.
type ResolvedEnv struct {
	Environment history.Environment
	Spec        api.EnvironmentSpec
	// Warnings are about the environment (a conda spec's oddities,
	// docker options that do not apply), not yet shown.
	Warnings []string
	// CondaNormalized is the conda spec's canonical text (what its key
	// hashes), for the plan; "" without a conda spec.
	CondaNormalized string
}

// InvalidError says that what a run asks for is malformed (a mistake on
// the command line when it came from flags).
type InvalidError struct{ Err error }

func (e *InvalidError) Error() string { return e.Err.Error() }

// Unwrap returns the cause.
func (e *InvalidError) Unwrap() error { return e.Err }

// ResolveEnvironment turns the run's environment choice into the plan's
// environment and the spec the executor receives. A conda spec is parsed
// here, so that its errors (with line numbers) come before any upload.
func ResolveEnvironment(ch EnvChoice) (ResolvedEnv, error) {
	if ch.DockerImage != "" && ch.Dockerfile != "" {
		return ResolvedEnv{}, &InvalidError{errors.New("a docker image and a Dockerfile exclude each other")}
	}
	if ch.GPUs != "" {
		if _, err := runargs.ParseGPUs(ch.GPUs); err != nil {
			return ResolvedEnv{}, &InvalidError{fmt.Errorf("--gpus: %w", err)}
		}
	}
	spec := api.EnvironmentSpec{Kind: api.EnvUserManaged, Python: ch.Python}
	plan := history.Environment{Kind: api.EnvUserManaged, Python: ch.Python}
	if ch.Requirements != "" && (ch.CondaFile != "" || ch.CondaInline != nil || ch.DockerImage != "" || ch.Dockerfile != "" || ch.DockerText != "") {
		return ResolvedEnv{}, &InvalidError{errors.New("a requirements file (pip environment) excludes a conda spec and docker: " +
			"put the pip packages in the conda spec's pip: section, or install them in a Dockerfile")}
	}
	warnings, normalized, err := resolveConda(ch, &plan, &spec)
	if err != nil {
		return ResolvedEnv{}, err
	}
	if err := resolvePip(ch, &plan, &spec); err != nil {
		return ResolvedEnv{}, err
	}
	if err := resolveDocker(ch, &plan, &spec); err != nil {
		return ResolvedEnv{}, err
	}
	runWarnings, err := resolveDockerRun(ch, &plan, &spec)
	if err != nil {
		return ResolvedEnv{}, err
	}
	warnings = append(warnings, runWarnings...)
	if ch.PythonSet && spec.CondaSpec != nil {
		warnings = append(warnings, fmt.Sprintf("--python %s is ignored: the conda environment's own python runs the script", ch.Python))
	}
	return ResolvedEnv{Environment: plan, Spec: spec, Warnings: warnings, CondaNormalized: normalized}, nil
}

// resolveDockerRun checks a docker run's options (--gpus, shm size, docker
// arguments) into spec and plan; for any other run they are named in a
// warning, not dropped silently.
func resolveDockerRun(ch EnvChoice, plan *history.Environment, spec *api.EnvironmentSpec) ([]string, error) {
	if spec.Kind != api.EnvDocker {
		var set []string
		if g, _ := runargs.ParseGPUs(ch.GPUs); !g.None() {
			set = append(set, "--gpus")
		}
		if ch.ShmSize != "" {
			set = append(set, "shm size")
		}
		if len(ch.DockerArgs) > 0 {
			set = append(set, "docker arguments")
		}
		if len(set) == 0 {
			return nil, nil
		}
		return []string{strings.Join(set, ", ") + ": apply to docker runs only (--docker-image, --dockerfile); ignored"}, nil
	}
	a, warnings, err := runargs.Parse(runargs.Args{GPUs: ch.GPUs, ShmSize: ch.ShmSize}, ch.DockerArgs)
	if err != nil {
		return nil, &InvalidError{err}
	}
	spec.GPUs, spec.ShmSize, spec.DockerArgs = ch.GPUs, ch.ShmSize, ch.DockerArgs
	plan.GPUs, plan.ShmSize, plan.DockerArgs = a.GPUs, a.ShmSize, ch.DockerArgs
	if plan.ShmSize == "" {
		plan.ShmSize = runargs.DefaultShmSize
	}
	return warnings, nil
}

// resolveConda parses the conda spec, if any, into spec and plan, and
// returns its warnings and canonical text.
func resolveConda(ch EnvChoice, plan *history.Environment, spec *api.EnvironmentSpec) ([]string, string, error) {
	data, dir := ch.CondaInline, "."
	if ch.CondaFile != "" {
		var err error
		if data, err = os.ReadFile(ch.CondaFile); err != nil {
			return nil, "", FileError("conda file", ch.CondaFile, err)
		}
		dir = filepath.Dir(ch.CondaFile)
		plan.File = ch.CondaFile
	}
	if data == nil {
		return nil, "", nil
	}
	name := ch.CondaFile
	if name == "" {
		name = "inline condaDependencies"
	}
	s, err := conda.ParseSpec(data, dir, nil)
	if err != nil {
		return nil, "", fmt.Errorf("conda spec %s: %w", name, err)
	}
	specDir, err := condaDir(ch)
	if err != nil {
		return nil, "", err
	}
	if err := hashCondaLocal(s, ch.Source, specDir); err != nil {
		return nil, "", fmt.Errorf("conda spec %s: %w", name, err)
	}
	plan.Kind, plan.Python, plan.Key = api.EnvConda, "", s.Key()
	spec.Kind, spec.Python, spec.Key = api.EnvConda, "", s.Key()
	spec.CondaSpec, spec.CondaRequirements, spec.CondaDir = data, s.PipRequirements, specDir
	var warnings []string
	for _, w := range s.Warnings() {
		warnings = append(warnings, "conda spec: "+w)
	}
	return warnings, string(s.Normalized()), nil
}

// condaDir is the conda spec's folder relative to the source directory,
// "/"-separated: "." for an inline spec (a run configuration's, read from
// the project's root), "" for a file outside the source directory.
func condaDir(ch EnvChoice) (string, error) {
	if ch.CondaFile == "" {
		return ".", nil
	}
	src, err := filepath.Abs(orDot(ch.Source))
	if err != nil {
		return "", fmt.Errorf("resolve source directory: %w", err)
	}
	file, err := filepath.Abs(ch.CondaFile)
	if err != nil {
		return "", fmt.Errorf("resolve conda file: %w", err)
	}
	rel, err := filepath.Rel(src, filepath.Dir(file))
	if err != nil || rel != "." && !filepath.IsLocal(rel) {
		return "", nil
	}
	return filepath.ToSlash(rel), nil
}

// hashCondaLocal hashes the local paths the spec's pip section installs
// from ("./wheels/x.whl", "-e .") into its key, reading them from the
// source directory as the snapshot will hold them (its ignore rules
// apply), so that the plan's key is the one the target builds under.
func hashCondaLocal(s *conda.Spec, source, specDir string) error {
	refs := s.LocalRefs()
	if len(refs) == 0 {
		return nil
	}
	if specDir == "" {
		return &InvalidError{fmt.Errorf("its pip section installs from %s, a path relative to the spec, but the spec lies outside "+
			"the source directory: the target sees only the snapshot (move the spec in, or use --source)", refs[0].Path)}
	}
	root, err := os.OpenRoot(orDot(source))
	if err != nil {
		return fmt.Errorf("open source directory: %w", err)
	}
	defer root.Close()
	ignore := snapshot.NewIgnoreChecker(root.Name())
	skip := func(rel string, isDir bool) bool {
		ignored, err := ignore.Ignored(rel, isDir)
		return ignored && err == nil
	}
	err = s.HashLocal(conda.LocalTree{Root: root.FS(), Dir: specDir, Skip: skip})
	if errors.Is(err, conda.ErrOutside) {
		return &InvalidError{err}
	}
	return err
}

// resolveDocker turns a docker choice into a docker environment (with the
// conda spec, if any, baked into its image).
func resolveDocker(ch EnvChoice, plan *history.Environment, spec *api.EnvironmentSpec) error {
	if ch.Dockerfile != "" {
		data, err := os.ReadFile(ch.Dockerfile)
		if err != nil {
			return FileError("Dockerfile", ch.Dockerfile, err)
		}
		ch.DockerText = string(data)
		plan.File = ch.Dockerfile
	}
	if ch.DockerImage == "" && ch.DockerText == "" {
		return nil
	}
	// The executor's own key: the plan, the run log's image tag and
	// 'ferry env list' name the image alike.
	// spec.Key is the conda spec's normalised key, if any: a comment or a
	// name: changed in it does not rebuild the image.
	key := imagespec.Key(imagespec.Spec{BaseImage: ch.DockerImage, Dockerfile: []byte(ch.DockerText),
		CondaSpec: spec.CondaSpec, CondaFiles: spec.CondaRequirements, CondaKey: spec.Key,
		CondaDir: spec.CondaDir, KeepSource: condaEditable(spec)})
	python := "" // the image's python3, or its conda environment's python
	if ch.PythonSet && spec.CondaSpec == nil {
		python = ch.Python // run in the container, as Azure ML's interpreterPath
	}
	plan.Kind, plan.Python, plan.Image, plan.Key = api.EnvDocker, python, ch.DockerImage, key
	spec.Kind, spec.Python, spec.DockerImage, spec.Dockerfile, spec.Key = api.EnvDocker, python, ch.DockerImage, ch.DockerText, key
	return nil
}

// condaEditable reports whether the spec's pip section installs a project
// folder editable, which the image then keeps (imagespec.KeepSource).
func condaEditable(spec *api.EnvironmentSpec) bool {
	if len(spec.CondaSpec) == 0 {
		return false
	}
	s, err := conda.ParseSent(spec.CondaSpec, spec.CondaRequirements)
	return err == nil && s.Editable()
}

// resolvePip checks a requirements file, the files it names and the local
// packages it installs (before any upload) into spec and plan. The plan's
// key is the requirements' alone: the target adds its interpreter's
// version to the key it builds the venv under.
func resolvePip(ch EnvChoice, plan *history.Environment, spec *api.EnvironmentSpec) error {
	if ch.Requirements == "" {
		return nil
	}
	src, err := filepath.Abs(orDot(ch.Source))
	if err != nil {
		return fmt.Errorf("resolve source directory: %w", err)
	}
	file, err := filepath.Abs(ch.Requirements)
	if err != nil {
		return fmt.Errorf("resolve requirements file: %w", err)
	}
	rel, err := filepath.Rel(src, file)
	if err != nil || !filepath.IsLocal(rel) {
		return &InvalidError{fmt.Errorf("requirements file %s is not inside the source directory %s: "+
			"the target sees only the snapshot (move it in, or use --source)", ch.Requirements, src)}
	}
	ignore := snapshot.NewIgnoreChecker(src)
	skip := func(rel string, isDir bool) bool {
		ignored, err := ignore.Ignored(rel, isDir)
		return ignored && err == nil
	}
	req, err := pipenv.ParseSkipping(src, filepath.ToSlash(rel), skip)
	if err != nil {
		return fmt.Errorf("requirements %s: %w", ch.Requirements, err)
	}
	plan.Kind, plan.File, plan.Key = api.EnvPip, ch.Requirements, req.Key("")
	spec.Kind, spec.Requirements, spec.Key = api.EnvPip, req.File, plan.Key
	return nil
}

// orDot is dir, or "." when empty.
func orDot(dir string) string {
	if dir == "" {
		return "."
	}
	return dir
}

// DescribeEnv is the one-line form of an environment for people.
func DescribeEnv(e history.Environment) string {
	switch e.Kind {
	case api.EnvPip:
		return fmt.Sprintf("pip venv of %s (%s)", e.Python, e.File)
	case api.EnvConda:
		return fmt.Sprintf("conda %s (%s)", conda.ShortKey(e.Key), e.File)
	case api.EnvDocker:
		img := e.Image
		if img == "" {
			img = e.File
		}
		return fmt.Sprintf("docker %s (%s)", conda.ShortKey(e.Key), img)
	}
	return fmt.Sprintf("%s (%s)", e.Kind, e.Python)
}

// FileError says which file could not be read; a missing one is named by
// its absolute path, so that a path relative to the wrong folder shows.
func FileError(what, name string, err error) error {
	if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("read %s: %w", what, err)
	}
	abs, aerr := filepath.Abs(name)
	if aerr != nil {
		abs = name
	}
	return fmt.Errorf("%s %s not found (no file %s)", what, name, abs)
}
