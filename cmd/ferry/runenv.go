package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ferry-ml/ferry/agent/history"
	"github.com/ferry-ml/ferry/conda"
	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/executor/docker/imagespec"
	"github.com/ferry-ml/ferry/executor/docker/runargs"
)

// envChoice is the environment a run asks for, before resolution: from
// flags, or from a run configuration (applyRunConfig fills it).
type envChoice struct {
	condaFile   string // path of a conda spec file
	condaInline []byte // an inline conda spec (runconfig condaDependencies)
	dockerImage string
	dockerfile  string // path of a Dockerfile
	dockerText  string // Dockerfile content (runconfig baseDockerfile)
	gpus        string // a --gpus value
	shmSize     string
	dockerArgs  []string // extra docker run arguments
}

// resolveEnvironment turns the run's environment options into the plan's
// environment and the spec the executor receives. A conda spec is parsed
// here, so that its errors (with line numbers) come before any upload.
func resolveEnvironment(opts runOptions) (history.Environment, api.EnvironmentSpec, []string, error) {
	ch := opts.env
	if opts.CondaFile != "" {
		ch.condaFile, ch.condaInline = opts.CondaFile, nil
	}
	if opts.DockerImage != "" {
		ch.dockerImage, ch.dockerText = opts.DockerImage, ""
	}
	if opts.Dockerfile != "" {
		ch.dockerfile, ch.dockerText = opts.Dockerfile, ""
	}
	if opts.DockerImage != "" && opts.Dockerfile != "" {
		return history.Environment{}, api.EnvironmentSpec{}, nil, usageError{errors.New("--docker-image and --dockerfile exclude each other")}
	}
	if opts.GPUs != "" {
		if _, err := runargs.ParseGPUs(opts.GPUs); err != nil {
			return history.Environment{}, api.EnvironmentSpec{}, nil, usageError{fmt.Errorf("--gpus: %w", err)}
		}
		ch.gpus = opts.GPUs
	}
	// Flags come after the file's arguments: docker's last-one-wins holds.
	ch.dockerArgs = append(append([]string(nil), ch.dockerArgs...), opts.DockerArgs...)
	spec := api.EnvironmentSpec{Kind: api.EnvUserManaged, Python: opts.Python}
	plan := history.Environment{Kind: api.EnvUserManaged, Python: opts.Python}
	warnings, err := resolveConda(ch, &plan, &spec)
	if err != nil {
		return plan, spec, nil, err
	}
	if err := resolveDocker(ch, &plan, &spec); err != nil {
		return plan, spec, nil, err
	}
	runWarnings, err := resolveDockerRun(ch, &plan, &spec)
	if err != nil {
		return plan, spec, nil, err
	}
	return plan, spec, append(warnings, runWarnings...), nil
}

// resolveDockerRun checks a docker run's options (--gpus, shm size, docker
// arguments) into spec and plan; for any other run they are named in a
// warning, not dropped silently.
func resolveDockerRun(ch envChoice, plan *history.Environment, spec *api.EnvironmentSpec) ([]string, error) {
	if spec.Kind != api.EnvDocker {
		var set []string
		if g, _ := runargs.ParseGPUs(ch.gpus); !g.None() {
			set = append(set, "--gpus")
		}
		if ch.shmSize != "" {
			set = append(set, "shm size")
		}
		if len(ch.dockerArgs) > 0 {
			set = append(set, "docker arguments")
		}
		if len(set) == 0 {
			return nil, nil
		}
		return []string{strings.Join(set, ", ") + ": apply to docker runs only (--docker-image, --dockerfile); ignored"}, nil
	}
	a, warnings, err := runargs.Parse(runargs.Args{GPUs: ch.gpus, ShmSize: ch.shmSize}, ch.dockerArgs)
	if err != nil {
		return nil, usageError{err}
	}
	spec.GPUs, spec.ShmSize, spec.DockerArgs = ch.gpus, ch.shmSize, ch.dockerArgs
	plan.GPUs, plan.ShmSize, plan.DockerArgs = a.GPUs, a.ShmSize, ch.dockerArgs
	if plan.ShmSize == "" {
		plan.ShmSize = runargs.DefaultShmSize
	}
	return warnings, nil
}

// resolveConda parses the conda spec, if any, into spec and plan.
func resolveConda(ch envChoice, plan *history.Environment, spec *api.EnvironmentSpec) ([]string, error) {
	data, dir := ch.condaInline, "."
	if ch.condaFile != "" {
		var err error
		if data, err = os.ReadFile(ch.condaFile); err != nil {
			return nil, &UserError{Msg: fmt.Sprintf("read conda file: %v", err)}
		}
		dir = filepath.Dir(ch.condaFile)
		plan.File = ch.condaFile
	}
	if data == nil {
		return nil, nil
	}
	s, err := conda.ParseSpec(data, dir, nil)
	if err != nil {
		name := ch.condaFile
		if name == "" {
			name = "inline condaDependencies"
		}
		return nil, &UserError{Msg: fmt.Sprintf("conda spec %s: %v", name, err)}
	}
	plan.Kind, plan.Python, plan.Key = api.EnvConda, "", s.Key()
	spec.Kind, spec.Python, spec.Key = api.EnvConda, "", s.Key()
	spec.CondaSpec, spec.CondaRequirements = data, s.PipRequirements
	var warnings []string
	for _, w := range s.Warnings() {
		warnings = append(warnings, "conda spec: "+w)
	}
	return warnings, nil
}

// resolveDocker turns a docker choice into a docker environment (with the
// conda spec, if any, baked into its image).
func resolveDocker(ch envChoice, plan *history.Environment, spec *api.EnvironmentSpec) error {
	if ch.dockerfile != "" {
		data, err := os.ReadFile(ch.dockerfile)
		if err != nil {
			return &UserError{Msg: fmt.Sprintf("read Dockerfile: %v", err)}
		}
		ch.dockerText = string(data)
		plan.File = ch.dockerfile
	}
	if ch.dockerImage == "" && ch.dockerText == "" {
		return nil
	}
	// The executor's own key: the plan, the run log's image tag and
	// 'ferry env list' name the image alike.
	// spec.Key is the conda spec's normalised key, if any: a comment or a
	// name: changed in it does not rebuild the image.
	key := imagespec.Key(imagespec.Spec{BaseImage: ch.dockerImage, Dockerfile: []byte(ch.dockerText),
		CondaSpec: spec.CondaSpec, CondaFiles: spec.CondaRequirements, CondaKey: spec.Key})
	plan.Kind, plan.Python, plan.Image, plan.Key = api.EnvDocker, "", ch.dockerImage, key
	spec.Kind, spec.Python, spec.DockerImage, spec.Dockerfile, spec.Key = api.EnvDocker, "", ch.dockerImage, ch.dockerText, key
	return nil
}

// describeEnv is the one-line form of an environment for people.
func describeEnv(e history.Environment) string {
	switch e.Kind {
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
