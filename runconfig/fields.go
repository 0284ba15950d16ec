package runconfig

import "go.yaml.in/yaml/v3"

// Reasons given in warnings.
const (
	reasonParallelTask = "ferry has no ParallelRunStep; ignored"
	reasonAmlCompute   = "ferry does not provision Azure ML compute; ignored"
	reasonData         = "ferry does not mount or download Azure ML data; ignored"
	reasonDatabricks   = "ferry does not run on Databricks; ignored"
	reasonRegistry     = "ferry does not log in to registries: the image must be pullable or present on the target; ignored"
)

// topFields is the schema of a .runconfig file (read-only): every field Azure ML v1
// (azureml-core RunConfiguration and Environment) reads, including the
// sections older SDKs wrote and newer ones added.
var topFields = []field{
	honoured("script", setScript),
	honoured("arguments", setArguments),
	honoured("target", setTarget),
	honoured("framework", setFramework),
	honoured("communicator", setCommunicator),
	inert("autoPrepareEnvironment"), // deprecated and unused by Azure ML itself
	honoured("maxRunDurationSeconds", setMaxDuration),
	honoured("nodeCount", setNodeCount),
	unsupported("priority", "ferry has no job scheduler; ignored"),
	unsupported("credentialPassthrough", "ferry passes no Azure credentials; ignored", "False"),
	unsupported("command", "ferry runs script with arguments, not command; ignored"),
	honoured("environmentVariables", setRunEnv),
	section("environment", environmentFields...),
	section("history",
		unsupported("outputCollection", "ferry always collects outputs/; ignored", "True"),
		unsupported("snapshotProject", "ferry always snapshots the source directory; ignored", "True"),
		field{key: "directoriesToWatch", isDefault: isLogsOnly, reason: "ferry streams the run's stdout and stderr only; ignored"},
		inert("enableMLflowTracking"),
		unsupported("ambientAuthentication", "ferry passes no Azure credentials; ignored"),
	),
	section("spark", honoured("configuration", setSparkConf)),
	section("docker",
		honoured("useDocker", setUseDocker),
		unsupported("sharedVolumes", "ferry always mounts the run's files; ignored", "True"),
		honoured("arguments", setRunDockerArguments),
		honoured("shmSize", setRunShmSize),
	),
	section("hdi", honoured("yarnDeployMode", setYarnDeployMode)),
	section("tensorflow",
		honoured("workerCount", setWorkerCount),
		honoured("parameterServerCount", setParameterServerCount),
	),
	section("mpi",
		honoured("processCountPerNode", setProcessCountPerNode),
		honoured("nodeCount", setSectionNodes),
	),
	section("pytorch",
		inert("communicationBackend"), // the script's own choice: ferry sets the same variables for nccl and gloo
		honoured("processCount", setPyTorchProcessCount),
		honoured("nodeCount", setSectionNodes),
	),
	section("paralleltask",
		unsupported("maxRetriesPerWorker", reasonParallelTask, "0"),
		unsupported("workerCountPerNode", reasonParallelTask, "1"),
		unsupported("terminalExitCodes", reasonParallelTask),
	),
	entries("dataReferences", reasonData),
	entries("data", reasonData),
	unsupported("datacaches", reasonData),
	entries("outputData", reasonData),
	unsupported("sourceDirectoryDataStore", reasonData),
	section("amlcompute",
		unsupported("vmSize", reasonAmlCompute),
		unsupported("vmPriority", reasonAmlCompute),
		unsupported("retainCluster", reasonAmlCompute, "False"),
		unsupported("name", reasonAmlCompute),
		unsupported("clusterMaxNodeCount", reasonAmlCompute, "1"),
	),
	section("kubernetescompute", unsupported("instanceType", reasonAmlCompute)),
	entries("applicationEndpoints", "ferry exposes no interactive endpoints; ignored"),
	entries("services", "ferry exposes no interactive endpoints; ignored"),
}

// environmentFields is the schema of the environment section.
var environmentFields = []field{
	inert("name"),
	inert("version"),
	inert("assetId"),
	inert("autoRebuild"),
	inert("inferencingStackVersion"),
	honoured("environmentVariables", setEnv),
	section("python",
		honoured("userManagedDependencies", setUserManaged),
		honoured("interpreterPath", setInterpreter),
		honoured("condaDependenciesFile", setCondaFile),
		honoured("condaDependencies", setCondaSpec),
		unsupported("baseCondaEnvironment", "ferry builds each conda environment from scratch; ignored"),
	),
	section("docker",
		honoured("enabled", setDockerEnabled),
		honoured("baseImage", setBaseImage),
		honoured("baseDockerfile", setDockerfile),
		unsupported("buildContext", "ferry builds only from baseImage or baseDockerfile; ignored"),
		unsupported("sharedVolumes", "ferry always mounts the run's files; ignored", "True"),
		honoured("gpuSupport", setGPU),
		honoured("arguments", setDockerArguments),
		honoured("shmSize", setShmSize),
		section("baseImageRegistry",
			unsupported("address", reasonRegistry),
			unsupported("username", reasonRegistry),
			unsupported("password", reasonRegistry),
			unsupported("registryIdentity", reasonRegistry),
		),
		section("platform",
			unsupported("os", "ferry runs Linux containers only; ignored", "Linux"),
			unsupported("architecture", "ferry uses the target's architecture; ignored", "amd64"),
		),
	),
	section("spark",
		honoured("repositories", setSparkRepositories),
		honoured("packages", setSparkPackages),
		inert("precachePackages"),
	),
	section("databricks",
		unsupported("mavenLibraries", reasonDatabricks),
		unsupported("pypiLibraries", reasonDatabricks),
		unsupported("rcranLibraries", reasonDatabricks),
		unsupported("jarLibraries", reasonDatabricks),
		unsupported("eggLibraries", reasonDatabricks),
	),
	unsupported("r", "ferry installs no R environment; ignored"),
}

// isLogsOnly reports whether history.directoriesToWatch is at its default,
// ["logs"] (or empty).
func isLogsOnly(v *yaml.Node) bool {
	return isEmpty(v) || v.Kind == yaml.SequenceNode && len(v.Content) == 1 && resolve(v.Content[0]).Value == "logs"
}

// isDefaultSparkConf reports whether spark.configuration is empty or the
// two settings Azure ML writes by default.
func isDefaultSparkConf(v *yaml.Node) bool {
	if isEmpty(v) {
		return true
	}
	if v.Kind != yaml.MappingNode {
		return false
	}
	want := map[string]string{"spark.app.name": "Azure ML Experiment", "spark.yarn.maxAppAttempts": "1"}
	kv, err := pairs(v)
	if err != nil || len(kv) != len(want) {
		return false
	}
	for _, pair := range kv {
		if w, ok := want[pair[0].Value]; !ok || pair[1].Kind != yaml.ScalarNode || pyStr(pair[1]) != w {
			return false
		}
	}
	return true
}
