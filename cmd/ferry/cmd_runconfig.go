package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ferry-ml/ferry/agent"
	"github.com/ferry-ml/ferry/agent/compute"
	"github.com/ferry-ml/ferry/runconfig"
	"github.com/spf13/cobra"
)

// applyRunConfig reads opts.RunConfig (an Azure ML v1 .runconfig) and fills
// every run option the command line did not set explicitly (changed
// reports those). It returns SCRIPT [ARGS...]: args when given, else the
// file's script and arguments. Warnings, each naming its field, go to warn
// and into opts for the plan.
//
// Paths in the file are relative to its project directory: the parent of
// aml_config/ or .azureml/ when the file lies in one, else its own
// directory; that is also the default source directory. target "local" (or
// none) is ferry's local target; another name must be an attached compute
// target (as Azure ML refuses an unknown one), unless --compute says where
// to run.
func applyRunConfig(opts *runOptions, g *globalOptions, changed func(string) bool, args []string, warn io.Writer) ([]string, error) {
	data, err := os.ReadFile(opts.RunConfig)
	if err != nil {
		return nil, &UserError{Msg: agent.FileError("run configuration", opts.RunConfig, err).Error()}
	}
	rc, warnings, err := runconfig.Parse(data)
	if err != nil {
		return nil, &UserError{Msg: fmt.Sprintf("run configuration %s: %v", opts.RunConfig, err)}
	}
	project := projectDir(opts.RunConfig)
	if !changed("compute") {
		if opts.Compute, err = runConfigTarget(g, opts.RunConfig, rc.Target); err != nil {
			return nil, err
		}
	}
	hdi := false
	if t, err := getTarget(g, opts.Compute); err == nil && t.Type == compute.TypeHDInsight {
		hdi = true
		opts.spark = runConfigSpark(opts.RunConfig, rc.Spark)
	}
	for _, w := range warnings {
		if !(hdi && w.HDInsight()) { // an hdinsight target honours those fields
			opts.addWarning(warn, "runconfig "+w.String())
		}
	}
	if !changed("source") {
		opts.Source = project
	}
	if len(args) == 0 {
		if rc.Script == "" {
			return nil, usageError{fmt.Errorf("%s names no script: give SCRIPT on the command line", opts.RunConfig)}
		}
		args = append([]string{filepath.Join(project, filepath.FromSlash(rc.Script))}, rc.Arguments...)
	}
	if err := runConfigDistribution(opts, rc, changed); err != nil {
		return nil, err
	}
	if !changed("max-duration") && rc.MaxDuration > 0 {
		opts.MaxDuration = rc.MaxDuration
	}
	opts.Env = append(runConfigEnv(opts, rc.Env, warn), opts.Env...)
	if err := runConfigEnvironment(opts, rc, project, changed, warn); err != nil {
		return nil, err
	}
	return args, nil
}

// runConfigDistribution sets the run's nodes, processes per node and
// distributed mode from the file (nodeCount, communicator, framework, the
// mpi, pytorch and tensorflow sections); the flags given explicitly
// override only what they name.
func runConfigDistribution(opts *runOptions, rc *runconfig.RunConfig, changed func(string) bool) error {
	d := &opts.dist
	var o runconfig.Override
	if changed("distributed") {
		o.Mode = strings.ToLower(d.Distributed)
	}
	if changed("node-count") {
		o.Nodes = d.NodeCount
	}
	if changed("process-count-per-node") {
		o.ProcessesPerNode = d.ProcessesPerNode
	}
	if o.Nodes < 0 || o.ProcessesPerNode < 0 || changed("node-count") && o.Nodes == 0 || changed("process-count-per-node") && o.ProcessesPerNode == 0 {
		return usageError{fmt.Errorf("--node-count and --process-count-per-node must be at least 1")}
	}
	got, err := rc.Distribution(o)
	if err != nil {
		return &UserError{Msg: fmt.Sprintf("run configuration %s: %v", opts.RunConfig, err),
			Hint: "change the file, or override with --node-count, --process-count-per-node or --distributed"}
	}
	d.Distributed, d.NodeCount, d.ProcessesPerNode = got.Mode, got.Nodes, got.ProcessesPerNode
	d.WorkerCount, d.ParameterServerCount, d.Tasks = got.WorkerCount, got.ParameterServerCount, got.Tasks
	if !changed("node-count") && rc.NodeCount > 1 {
		d.source = fmt.Sprintf("%s asks for nodeCount %d", opts.RunConfig, rc.NodeCount)
	}
	return nil
}

// runConfigSpark is the file's Spark fields as a run asks for them.
func runConfigSpark(file string, s *runconfig.Spark) agent.SparkChoice {
	if s == nil {
		return agent.SparkChoice{}
	}
	ch := agent.SparkChoice{DeployMode: s.DeployMode, Conf: s.Conf, Packages: s.Packages, Repositories: s.Repositories}
	if s.DeployModeLine > 0 {
		ch.DeployModeFrom = fmt.Sprintf("%s line %d: hdi.yarnDeployMode", file, s.DeployModeLine)
	}
	return ch
}

// addWarning prints a warning and keeps it for the plan.
func (o *runOptions) addWarning(w io.Writer, msg string) {
	fmt.Fprintf(w, "ferry: warning: %s\n", msg)
	o.warnings = append(o.warnings, msg)
}

// projectDir is the Azure ML project directory of a run configuration.
func projectDir(file string) string {
	dir := filepath.Dir(file)
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	if b := filepath.Base(dir); b == "aml_config" || b == ".azureml" {
		return filepath.Dir(dir)
	}
	return dir
}

// runConfigTarget maps the file's target to a ferry compute target; a name
// that is not attached is refused with the command that attaches it.
func runConfigTarget(g *globalOptions, file, target string) (string, error) {
	if target == "" || target == "local" {
		return "local", nil
	}
	if _, err := getTarget(g, target); err == nil {
		return target, nil
	}
	name := target
	if compute.ValidateName(target) != nil {
		name = "NAME"
	}
	return "", &UserError{Msg: fmt.Sprintf("run configuration %s: target %q is not an attached compute target", file, target),
		Hint: fmt.Sprintf("attach it with 'ferry compute attach %s --address HOST' (see 'ferry compute list'), or choose one with --compute (--compute local: this machine)", name)}
}

// runConfigEnv returns the file's environment variables as --env entries,
// sorted, leaving out the FERRY_* names ferry sets itself.
func runConfigEnv(opts *runOptions, env map[string]string, warn io.Writer) []string {
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		if strings.HasPrefix(k, "FERRY_") {
			opts.addWarning(warn, fmt.Sprintf("runconfig environment.environmentVariables.%s: FERRY_* variables are set by ferry; ignored", k))
			continue
		}
		out = append(out, k+"="+env[k])
	}
	return out
}

// amlDefaultEnvironment is the environment Azure ML builds for a system-
// managed run configuration that names no conda dependencies: python with
// pip (Azure ML added its own azureml-defaults, which ferry's azureml.core
// stands in for).
const amlDefaultEnvironment = `name: azureml_default
channels:
- conda-forge
dependencies:
- python
- pip
`

// runConfigEnvironment picks the environment the file describes: docker
// when enabled (with the conda spec baked in unless user-managed), conda
// when not user-managed, else the interpreter as it is. An environment
// flag given explicitly (changed) overrides only what it names; what it
// makes meaningless in the file is dropped with a warning.
func runConfigEnvironment(opts *runOptions, rc *runconfig.RunConfig, project string, changed func(string) bool, warn io.Writer) error {
	if err := runConfigPython(opts, rc, project, changed, warn); err != nil {
		return err
	}
	d := rc.Docker
	if d == nil || !d.Enabled && !changed("docker-image") && !changed("dockerfile") {
		return nil
	}
	if changed("requirements") {
		if d.Enabled {
			opts.addWarning(warn, "--requirements builds a venv on the target's host: the run configuration's docker environment is not used")
		}
		return nil
	}
	if d.Enabled {
		opts.env.DockerImage, opts.env.DockerText = d.BaseImage, d.Dockerfile
		if d.Dockerfile != "" {
			opts.env.DockerImage = ""
		}
		if d.BaseImage == "" && d.Dockerfile == "" && !changed("docker-image") && !changed("dockerfile") {
			return &UserError{Msg: fmt.Sprintf("%s: docker is enabled but neither baseImage nor baseDockerfile is set", opts.RunConfig)}
		}
	}
	// The file's docker settings hold for the image a flag names too.
	opts.env.ShmSize, opts.env.DockerArgs = d.ShmSize, d.Arguments
	if d.GPU {
		opts.env.GPUs = "all"
	}
	switch {
	case changed("docker-image") && d.Enabled && d.Dockerfile != "":
		opts.addWarning(warn, "--docker-image replaces the run configuration's docker.baseDockerfile")
	case changed("dockerfile") && d.Enabled && d.BaseImage != "" && d.Dockerfile == "":
		opts.addWarning(warn, "--dockerfile replaces the run configuration's docker.baseImage")
	}
	return nil
}

// runConfigPython picks the file's python environment: conda unless
// user-managed, else its interpreter. --python makes it user-managed;
// --conda-file replaces the conda spec; --requirements makes it a venv.
func runConfigPython(opts *runOptions, rc *runconfig.RunConfig, project string, changed func(string) bool, warn io.Writer) error {
	if rc.UserManaged {
		if !changed("python") {
			opts.Python = rc.Interpreter
		}
		return nil
	}
	switch {
	case changed("conda-file"):
		return nil // the flag's spec replaces the file's
	case changed("python"), changed("requirements"):
		flag := "--python " + opts.Python
		if changed("requirements") {
			flag = "--requirements"
		}
		opts.addWarning(warn, flag+" replaces the run configuration's conda environment (userManagedDependencies: false)")
		return nil
	case rc.CondaFile != "":
		opts.env.CondaFile = filepath.Join(project, filepath.FromSlash(rc.CondaFile))
	case rc.CondaSpec != nil:
		opts.env.CondaInline = rc.CondaSpec
	default:
		// Azure ML built its default environment here: python with pip.
		opts.env.CondaInline = []byte(amlDefaultEnvironment)
		opts.addWarning(warn, "runconfig environment.python: userManagedDependencies is false and no conda dependencies are given: "+
			"building Azure ML's default environment (python and pip from conda-forge) with the target's conda tool, "+
			"or as a pip venv of python3 where the target has none")
	}
	return nil
}

func newRunconfigCommand(_ *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "runconfig",
		Short: "Azure ML run configuration files",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "init [FILE]",
		Short: "Write a commented starter .runconfig (default aml_config/ferry.runconfig)",
		Long: `Write a starter run configuration in Azure ML v1 format, which both ferry
('ferry run --runconfig FILE') and Azure ML read. An existing file is never
overwritten.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			file := filepath.Join("aml_config", "ferry.runconfig")
			if len(args) == 1 {
				file = args[0]
			}
			return runRunconfigInit(file, cmd.OutOrStdout())
		},
	})
	return cmd
}

// runRunconfigInit writes runconfig.Init() to file, refusing to replace it.
func runRunconfigInit(file string, out io.Writer) error {
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(file), err)
	}
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, os.ErrExist) {
		return &UserError{Msg: fmt.Sprintf("%s already exists", file), Hint: "remove it first, or name another file"}
	}
	if err != nil {
		return fmt.Errorf("create run configuration: %w", err)
	}
	_, err = f.Write(runconfig.Init())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(file)
		return fmt.Errorf("write run configuration: %w", err)
	}
	fmt.Fprintf(out, "wrote %s\n", file)
	return nil
}
