package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/ferry-ml/ferry/agent"
	"github.com/ferry-ml/ferry/agent/compute"
	"github.com/ferry-ml/ferry/agent/history"
	"github.com/ferry-ml/ferry/internal/ui"
	"github.com/ferry-ml/ferry/internal/units"
	"github.com/ferry-ml/ferry/snapshot"
	"github.com/spf13/cobra"
)

type runOptions struct {
	Compute      string
	Source       string
	Experiment   string
	Python       string
	Env          []string
	MaxDuration  time.Duration
	Detach       bool
	DryRun       bool
	JSON         bool
	RunConfig    string
	CondaFile    string
	Requirements string
	DockerImage  string
	Dockerfile   string
	GPUs         string
	DockerArgs   []string
	dist         distOptions // --node-count, --distributed, ...

	env      agent.EnvChoice   // from --runconfig (flags above win)
	spark    agent.SparkChoice // from --runconfig (hdinsight targets)
	warnings []string          // from --runconfig and the conda spec
	// pythonSet: --python was given; a docker run without a conda spec
	// runs it in the container, a conda environment warns that it does not.
	pythonSet bool
}

func (o *runOptions) addFlags(cmd *cobra.Command) {
	o.addPlanFlags(cmd)
	f := cmd.Flags()
	f.BoolVar(&o.Detach, "detach", false, "return once the run has started")
	f.BoolVar(&o.DryRun, "dry-run", false, "print the resolved plan and run nothing")
	f.BoolVar(&o.JSON, "json", false, "with --dry-run or --detach: print JSON")
}

// prepareArgs applies --runconfig, if given, and returns SCRIPT [ARGS...].
// Call it before resolvePlan (ferry watch too).
func (o *runOptions) prepareArgs(cmd *cobra.Command, g *globalOptions, args []string) ([]string, error) {
	o.pythonSet = cmd.Flags().Changed("python")
	if o.RunConfig == "" {
		if len(args) == 0 {
			return nil, usageError{errors.New("missing SCRIPT: ferry run expects SCRIPT [ARGS...] or --runconfig FILE")}
		}
		return args, nil
	}
	return applyRunConfig(o, g, cmd.Flags().Changed, args, cmd.ErrOrStderr())
}

// addPlanFlags adds the flags that shape a run (shared with ferry watch).
func (o *runOptions) addPlanFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.SetInterspersed(false) // everything after SCRIPT belongs to the script
	f.StringVar(&o.Compute, "compute", envOr("FERRY_COMPUTE", "local"), "compute target to run on (env FERRY_COMPUTE)")
	f.StringVar(&o.Source, "source", envOr("FERRY_SOURCE", "."), "source directory to snapshot (env FERRY_SOURCE)")
	f.StringVar(&o.Experiment, "experiment", os.Getenv("FERRY_EXPERIMENT"), "experiment name (default: the source directory's name)")
	f.StringVar(&o.Python, "python", envOr("FERRY_PYTHON", "python3"), "interpreter on the target (Azure ML's interpreterPath; in a docker run, one in the container)")
	f.StringArrayVar(&o.Env, "env", nil, "environment variable K=V for the script (repeatable)")
	f.DurationVar(&o.MaxDuration, "max-duration", 0, "stop the run after this long, e.g. 2h (Azure ML's maxRunDurationSeconds)")
	f.StringVar(&o.RunConfig, "runconfig", "", "Azure ML v1 .runconfig file to run (flags given explicitly override it)")
	f.StringVar(&o.CondaFile, "conda-file", "", "conda environment file (environment.yml, conda_dependencies.yml): built once on the target, then reused")
	f.StringVar(&o.Requirements, "requirements", "", "pip requirements file (inside the source directory): a venv of --python built on the target once per content and interpreter, then reused")
	f.StringVar(&o.DockerImage, "docker-image", "", "run in a docker environment from this base image")
	f.StringVar(&o.Dockerfile, "dockerfile", "", "run in a docker environment built from this Dockerfile")
	f.StringVar(&o.GPUs, "gpus", "", "docker runs: the target's GPUs to expose: all, a count, device=ID[,ID] or 0 for none")
	f.StringArrayVar(&o.DockerArgs, "docker-arg", nil, "docker runs: an extra 'docker run' argument such as --ipc=host or -v=/data:/data:ro (repeatable)")
	o.dist.addFlags(f)
}

func newRunCommand(g *globalOptions) *cobra.Command {
	var opts runOptions
	cmd := &cobra.Command{
		Use:   "run [flags] SCRIPT [ARGS...]",
		Short: "Snapshot, upload and run a script on a compute target",
		Long: `Snapshot the source directory, upload what the compute target lacks, run
SCRIPT there with ARGS (passed untouched) and stream its output here.

The run id is printed to stderr first. ferry exits with the script's exit
status. Ctrl-C detaches: the run goes on; reattach with 'ferry logs -f ID',
stop it with 'ferry cancel ID'. Runs survive dropped connections: a link
that drops while ferry follows a run is made again (for up to two minutes)
and the log goes on where it stopped.

In the run: the working directory is the snapshot, outputs/ is created and
comes back here when the run ends, and FERRY_RUN_ID, FERRY_EXPERIMENT,
FERRY_OUTPUTS_DIR and FERRY_METRICS_FILE are set. 'import ferry_run;
ferry_run.log("loss", 0.3)' records a metric.

Environments: the interpreter as it is (--python, the default), a conda
environment built on the target once per spec and reused while the spec is
unchanged (--conda-file), a pip venv of --python built once per
requirements file content and interpreter version (--requirements), or a docker container (--docker-image, or
--dockerfile built once per content; with --conda-file the spec is baked
into the image). For docker runs, --gpus and --docker-arg apply; of
'docker run' arguments ferry honours --shm-size, --gpus, -e/--env, --ipc,
--network, -m/--memory, --cpus, --cap-add, --ulimit and -v/--volume, and
names any other in a warning. --runconfig reads an Azure ML .runconfig;
an environment flag given with it overrides only what it names (the file's
docker settings stay) and warns about what it makes meaningless.

On an hdinsight target (a Spark cluster's head node) the run is one
spark-submit to YARN, cluster mode unless the run configuration's
hdi.yarnDeployMode says client; spark.configuration, environment.spark
packages and repositories apply, and --dry-run --json shows the exact
spark-submit argv. See README "HDInsight".

On a slurm target the run is one sbatch job: --node-count nodes x
--process-count-per-node processes, each told its rank as Azure ML did
(--distributed pytorch: MASTER_ADDR, RANK, WORLD_SIZE, ...; mpi: launched by
mpirun, OMPI_COMM_WORLD_*; tensorflow: TF_CONFIG). A run configuration's
nodeCount, communicator (Nccl/Gloo, OpenMpi/IntelMpi, ParameterServer),
framework and mpi, pytorch and tensorflow sections say the same; these
flags override only what they name. More than one process needs a
distributed mode, and a single-machine target refuses a multi-node run.
A run the target refuses is not submitted and not kept in the history.
See README "Multi-node runs on a Slurm cluster".`,
		Example: `  ferry run train.py --epochs 3
  ferry run --compute myvm --env SEED=1 train.py --lr 0.1
  ferry run --detach --max-duration 2h train.py
  ferry run --conda-file environment.yml train.py
  ferry run --requirements requirements.txt train.py
  ferry run --compute gpu --docker-image pytorch/pytorch:2.3.0 --gpus all \
      --docker-arg=--ipc=host --docker-arg=-v=/data:/data:ro train.py
  ferry run --compute hpc --node-count 2 --process-count-per-node 2 --distributed pytorch train.py
  ferry run --runconfig aml_config/hpc.runconfig --node-count 4`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 && opts.RunConfig == "" {
				return usageError{errors.New("missing SCRIPT: ferry run expects SCRIPT [ARGS...] or --runconfig FILE")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			args, err := opts.prepareArgs(cmd, g, args)
			if err != nil {
				return err
			}
			return runRun(contextOf(cmd), opts, g, args)
		},
	}
	opts.addFlags(cmd)
	return cmd
}

// warnEnvironment prints the plan's environment warnings (the run
// configuration's were printed as the file was read).
func warnEnvironment(w io.Writer, plan agent.Plan) {
	for _, msg := range plan.EnvWarnings {
		fmt.Fprintf(w, "ferry: warning: %s\n", msg)
	}
}

func runRun(ctx context.Context, opts runOptions, g *globalOptions, args []string) error {
	p := ui.New(opts.JSON)
	plan, err := resolvePlan(opts, g, args)
	if err != nil {
		return err
	}
	warnEnvironment(os.Stderr, plan)
	if opts.DryRun {
		return printPlan(p, plan)
	}
	p.Noticef("ferry: run %s on %s\n", plan.ID, plan.Compute)
	return executeRun(ctx, opts, g, p, plan)
}

// resolvePlan checks everything that can be checked before any upload.
func resolvePlan(opts runOptions, g *globalOptions, args []string) (agent.Plan, error) {
	src, err := checkSource(opts.Source)
	if err != nil {
		return agent.Plan{}, err
	}
	script, err := resolveScript(src, args[0])
	if err != nil {
		return agent.Plan{}, err
	}
	env, err := parseEnv(opts.Env)
	if err != nil {
		return agent.Plan{}, err
	}
	if opts.MaxDuration < 0 {
		return agent.Plan{}, usageError{fmt.Errorf("--max-duration must be positive, got %s", opts.MaxDuration)}
	}
	target, err := getTarget(g, opts.Compute)
	if err != nil {
		return agent.Plan{}, err
	}
	env2, err := resolveEnvironment(opts)
	if err != nil {
		return agent.Plan{}, err
	}
	exp := opts.Experiment
	if exp == "" {
		exp = filepath.Base(src)
	}
	plan := agent.Plan{
		ID: history.NewRunID(exp, time.Now()), Compute: opts.Compute, Experiment: exp,
		Source: src, Script: script, Arguments: append([]string{}, args[1:]...),
		Environment: env2.Environment, Env: env, Spec: env2.Spec,
		Warnings:    append(append([]string{}, opts.warnings...), env2.Warnings...),
		EnvWarnings: env2.Warnings,
	}
	if len(env2.Spec.CondaSpec) > 0 {
		plan.EnvSpec = env2.CondaNormalized
	}
	if opts.MaxDuration > 0 {
		plan.MaxDuration, plan.MaxSeconds = opts.MaxDuration.String(), int64(opts.MaxDuration.Seconds())
	}
	if plan.Slurm, err = planSlurm(opts, target); err != nil {
		return agent.Plan{}, err
	}
	if target.Type == compute.TypeHDInsight {
		if plan.Spark, err = agent.PlanSpark(plan, target, opts.spark); err != nil {
			return agent.Plan{}, &UserError{Msg: err.Error()}
		}
	}
	return plan, nil
}

// resolveScript returns the script's path relative to src, "/"-separated.
// A relative SCRIPT is looked up from the current directory first, then
// from the source directory.
func resolveScript(src, script string) (string, error) {
	candidates := []string{filepath.Join(src, script)}
	if !filepath.IsAbs(script) {
		if abs, err := filepath.Abs(script); err == nil {
			candidates = []string{abs, filepath.Join(src, script)}
		}
	} else {
		candidates = []string{script}
	}
	for _, c := range candidates {
		rel, err := filepath.Rel(src, c)
		if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
			continue
		}
		fi, err := os.Stat(c)
		if err == nil && fi.Mode().IsRegular() {
			return filepath.ToSlash(rel), nil
		}
	}
	for _, c := range candidates {
		if rel, err := filepath.Rel(src, c); err == nil && (rel == ".." || strings.HasPrefix(rel, "../")) {
			if _, err := os.Stat(c); err == nil {
				return "", &UserError{Msg: fmt.Sprintf("script %s is outside the source directory %s", script, src),
					Hint: "only the source directory is uploaded: move the script into it, or pass --source a directory that holds it"}
			}
		}
	}
	return "", &UserError{Msg: fmt.Sprintf("script %s not found in %s", script, src),
		Hint: "SCRIPT is a path relative to the current or the source directory (--source)"}
}

func parseEnv(kvs []string) (map[string]string, error) {
	env := map[string]string{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" || strings.ContainsAny(k, " \t\n") {
			return nil, usageError{fmt.Errorf("--env %q: want NAME=VALUE", kv)}
		}
		if strings.HasPrefix(k, "FERRY_") {
			return nil, usageError{fmt.Errorf("--env %s: FERRY_* variables are set by ferry", k)}
		}
		env[k] = v
	}
	return env, nil
}

func printPlan(p *ui.Printer, plan agent.Plan) error {
	if p.JSON {
		return p.PrintJSON(plan)
	}
	p.Printf("compute      %s\nexperiment   %s\nsource       %s\nscript       %s\narguments    %s\n",
		plan.Compute, plan.Experiment, plan.Source, plan.Script, quoteArgs(plan.Arguments))
	p.Printf("environment  %s\n", agent.DescribeEnv(plan.Environment))
	keys := make([]string, 0, len(plan.Env))
	for k := range plan.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p.Printf("env          %s=%s\n", k, redact(k, plan.Env[k]))
	}
	if plan.MaxDuration != "" {
		p.Printf("max duration %s\n", plan.MaxDuration)
	}
	if s := plan.Slurm; s != nil {
		p.Printf("slurm        %d node(s) x %d process(es)%s, distributed %s, master port %d%s\n",
			s.Nodes, s.ProcessesPerNode, lastShort(*s), orDefault(s.Distributed, "none"), s.Port(), tfRoles(*s))
	}
	if plan.Spark != nil {
		p.Printf("deploy mode  %s\nsubmit       %s\n", plan.Spark.DeployMode, quoteArgs(plan.Spark.Submit))
	}
	return nil
}

func redact(k, v string) string {
	if history.SecretName(k) {
		return "***"
	}
	return v
}

func quoteArgs(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\n'\"\\$") {
			a = fmt.Sprintf("%q", a)
		}
		out[i] = a
	}
	return strings.Join(out, " ")
}

// detachWait bounds how long --detach waits for the script to start (an
// environment being built may take longer: the run is then reported as
// Preparing).
const detachWait = 10 * time.Second

// executeRun snapshots, syncs, submits and follows.
func executeRun(ctx context.Context, opts runOptions, g *globalOptions, p *ui.Printer, plan agent.Plan) error {
	start := time.Now()
	// The SSH handshake overlaps the snapshot; the executor is touched
	// only once the snapshot is known to hold the script.
	dial, err := g.dialAsync(ctx, plan.Compute)
	if err != nil {
		return err
	}
	defer dial.close()
	m, st, err := takeSnapshot(ctx, g, plan.Source, p)
	if err == nil {
		err = checkScriptIncluded(m, plan.Script)
	}
	if err != nil {
		return err
	}
	p.Noticef("ferry: snapshot %s: %s, %s (%s)\n", m.ID().Short(), countFiles(st.Files), units.Bytes(st.Bytes), st.Duration.Round(time.Millisecond))
	hist, err := openHistory(g)
	if err != nil {
		return err
	}
	defer hist.Close()
	runner, err := g.newRunner(hist, p, runReconnectFor)
	if err != nil {
		return err
	}
	return launchAndFollow(ctx, g, p, runner, dial, plan, m, launchOptions{start: start, detach: opts.Detach, json: opts.JSON})
}

// launchOptions say how ferry run and rerun present a launch.
type launchOptions struct {
	start        time.Time // when the command began, for "submitted in"
	detach, json bool
}

// launchAndFollow launches the plan's run over the connection being
// dialed, then follows it to its end (or detaches).
func launchAndFollow(ctx context.Context, g *globalOptions, p *ui.Printer, runner *agent.Runner, dial *dialing, plan agent.Plan, m *snapshot.Manifest, o launchOptions) error {
	remote, r, err := runner.Launch(ctx, dial.wait, plan, m, nil)
	var recErr *agent.RecordError
	switch {
	case errors.As(err, &recErr) && o.detach:
		return recordFailed(err, nil)
	case errors.As(err, &recErr):
		p.Noticef("ferry: warning: %v\n", err)
	case err != nil:
		return launchError(g, plan.Compute, err)
	}
	p.Noticef("ferry: environment %s; submitted in %s\n", agent.DescribeEnv(plan.Environment), time.Since(o.start).Round(time.Millisecond))
	if o.detach {
		r = runner.AwaitStart(ctx, remote, r, detachWait)
		p.Noticef("ferry: detached (%s). Follow: ferry logs -f %s   Cancel: ferry cancel %s\n", r.Status, plan.ID, plan.ID)
		if o.json {
			return p.PrintJSON(map[string]string{"id": plan.ID, "status": string(r.Status)})
		}
		return nil
	}
	return followRun(ctx, g, runner, remote, p, plan.ID)
}

func checkScriptIncluded(m *snapshot.Manifest, script string) error {
	for _, e := range m.Entries {
		if e.Path == script {
			return nil
		}
	}
	return &UserError{Msg: fmt.Sprintf("script %s is excluded from the snapshot by an ignore file (.gitignore, .amlignore or .ferryignore)", script),
		Hint: "'ferry snapshot --list' shows what is uploaded; un-ignore the script with a '!' line"}
}

func openHistory(g *globalOptions) (*history.Store, error) {
	return history.Open(filepath.Join(g.Home, "history.db"), g.logger)
}
