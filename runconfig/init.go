package runconfig

// initTemplate is the starter file Init returns. Keep it parsing back with
// no warnings (TestInit checks).
const initTemplate = `# ferry run configuration, in Azure ML v1 .runconfig format: Azure ML reads
# it too. Paths are relative to the project directory.

# The script to run and its arguments.
script: train.py
arguments: []
# The compute target: "local", or a name from "ferry compute list".
target: local
# Maximum run time in seconds; empty for no limit.
maxRunDurationSeconds:
# Multi-node runs (slurm targets): nodes, and how the processes learn their
# rank. framework: Python, PyTorch or TensorFlow. communicator: None, Nccl or
# Gloo (PyTorch: MASTER_ADDR, RANK, ...), OpenMpi or IntelMpi (mpirun; then
# mpi: {processCountPerNode: N}), ParameterServer (TF_CONFIG; then
# tensorflow: {workerCount: W, parameterServerCount: P}).
framework: Python
communicator: None
nodeCount: 1
environment:
  # Environment variables set for the run.
  environmentVariables: {}
  python:
    # true: run with interpreterPath as it is on the target.
    # false: build (once, then reuse) a conda environment from
    # condaDependenciesFile, e.g. aml_config/conda_dependencies.yml.
    userManagedDependencies: true
    interpreterPath: python3
    condaDependenciesFile:
  docker:
    # true: run inside a container of baseImage (or of the image built
    # from baseDockerfile, the Dockerfile's content).
    enabled: false
    baseImage:
    baseDockerfile:
    # Expose the target's GPUs to the container.
    gpuSupport: false
    # Shared memory size, e.g. 2g.
    shmSize:
`

// Init returns a commented starter .runconfig that Parse reads back with no
// warnings: a user-managed python3 on the local target, with the conda and
// docker fields present and explained.
func Init() []byte {
	return []byte(initTemplate)
}
