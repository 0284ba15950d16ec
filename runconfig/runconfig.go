package runconfig

import (
	"fmt"
	"sort"
	"time"

	"go.yaml.in/yaml/v3"
)

// RunConfig is the ferry-shaped view of an Azure ML v1 run configuration:
// what ferry honours, resolved. Fields it cannot honour are reported as
// warnings by Parse, never dropped silently.
type RunConfig struct {
	// Script is the script to run, relative to the source directory.
	Script string
	// Arguments are the script's arguments, each as Azure ML passes it:
	// Python's str() of the YAML value (see Parse).
	Arguments []string
	// Target names the compute target ("local" or an attached name).
	Target string
	// MaxDuration is maxRunDurationSeconds; 0 means no limit.
	MaxDuration time.Duration
	// Env holds environment.environmentVariables, overlaid by the run-level
	// environmentVariables of newer files.
	Env map[string]string
	// UserManaged is environment.python.userManagedDependencies: run with
	// Interpreter as it is, build no environment.
	UserManaged bool
	// Interpreter is environment.python.interpreterPath ("python" when the
	// file leaves it out, as Azure ML defaults it).
	Interpreter string
	// CondaFile is environment.python.condaDependenciesFile, relative to the
	// project directory (the parent of aml_config/ or .azureml/).
	CondaFile string
	// CondaSpec is an inline environment.python.condaDependencies mapping,
	// re-encoded as YAML for conda.ParseSpec; nil when absent.
	CondaSpec []byte
	// Docker is the docker configuration; nil when the file sets none of
	// the docker fields ferry reads.
	Docker *Docker
	// NodeCount is nodeCount (1 when absent), or the mpi or pytorch
	// section's nodeCount that older SDKs wrote instead.
	NodeCount int
	// Framework is framework as written ("Python" when absent).
	Framework string
	// Communicator is communicator as written ("None" when absent).
	Communicator string
	// ProcessCountPerNode is mpi.processCountPerNode (0 when absent).
	ProcessCountPerNode int
	// PyTorchProcessCount is pytorch.processCount: the processes of every
	// node together (0 when absent).
	PyTorchProcessCount int
	// WorkerCount and ParameterServerCount are the tensorflow section's
	// (nil when absent: Azure ML's default is 1 each).
	WorkerCount          *int
	ParameterServerCount *int
	// pytorchNodes is set when the pytorch section sets nodeCount above 1.
	pytorchNodes bool
	// Spark holds the fields an hdinsight target honours; nil when the
	// file sets none of them.
	Spark *Spark
}

// Docker is a run's docker configuration, from environment.docker and the
// newer top-level docker section.
type Docker struct {
	// Enabled is environment.docker.enabled or docker.useDocker.
	Enabled bool
	// BaseImage is the image to run in or build from.
	BaseImage string
	// Arguments are extra "docker run" arguments, as written.
	Arguments []string
	// ShmSize is the shared memory size as written ("2g"); "" for the default.
	ShmSize string
	// GPU is environment.docker.gpuSupport.
	GPU bool
	// Dockerfile is environment.docker.baseDockerfile: the Dockerfile's
	// content (Azure ML stores content, not a path).
	Dockerfile string
}

// Warning reports a field of the file that ferry does not honour: one it
// cannot honour yet, set to something other than its default, or one it
// does not know.
type Warning struct {
	// Line is the 1-based line of the field's key.
	Line int
	// Path is the field's dotted path as written: "environment.spark.packages".
	Path string
	// Value is the field's value as one line of flow YAML.
	Value string
	// Reason says what ferry does instead.
	Reason string
}

// String returns "line N: path = value: reason".
func (w Warning) String() string {
	return fmt.Sprintf("line %d: %s = %s: %s", w.Line, w.Path, w.Value, w.Reason)
}

// parser accumulates a RunConfig and its warnings while walking the file.
type parser struct {
	rc       RunConfig
	warnings []Warning
	runEnv   map[string]string // the run-level environmentVariables
	key      *yaml.Node        // the key of the field being set
	// sectionNodes are the mpi and pytorch sections' nodeCounts above 1.
	sectionNodes []sectionCount
	// written holds the line and path of distributed fields, for the
	// warnings finishDistributed gives (Value and Reason unset).
	written map[string]Warning
}

// Parse reads an Azure ML v1 run configuration (a .runconfig file) as it
// is. It returns the resolved configuration and one Warning per field
// ferry does not honour; fields left at their defaults (null, empty lists,
// the values Azure ML itself writes) produce none.
//
// Scalars are typed by the YAML 1.2 rules of the ruamel.yaml loader Azure
// ML uses, and script arguments and environment variable values become
// Python's str() of them: 1e3 is "1000.0", true is "True", 0x10 is "16",
// '007' (quoted) is "007". Malformed YAML is a *SyntaxError; a
// field of the wrong shape is a *ParseError. Both carry a line number.
func Parse(data []byte) (*RunConfig, []Warning, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, nil, syntaxError(data, err)
	}
	p := &parser{rc: RunConfig{Interpreter: "python", NodeCount: 1, Framework: "Python", Communicator: "None"}}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, nil, &ParseError{Line: 1, Msg: "empty run configuration"}
	}
	root := resolve(doc.Content[0])
	if root.Kind != yaml.MappingNode {
		return nil, nil, &ParseError{Line: root.Line, Msg: "run configuration must be a mapping, got " + describe(root)}
	}
	if err := p.section(root, "", topFields); err != nil {
		return nil, nil, err
	}
	if err := p.finishDistributed(); err != nil {
		return nil, nil, err
	}
	sort.SliceStable(p.warnings, func(i, j int) bool { return p.warnings[i].Line < p.warnings[j].Line })
	for k, v := range p.runEnv {
		if p.rc.Env == nil {
			p.rc.Env = make(map[string]string)
		}
		p.rc.Env[k] = v
	}
	return &p.rc, p.warnings, nil
}

// warn records a warning for the field at key k with value v.
func (p *parser) warn(k *yaml.Node, path string, v *yaml.Node, reason string) {
	p.warnings = append(p.warnings, Warning{Line: k.Line, Path: path, Value: render(v), Reason: reason})
}

// docker returns the Docker section, creating it on first use.
func (p *parser) docker() *Docker {
	if p.rc.Docker == nil {
		p.rc.Docker = &Docker{}
	}
	return p.rc.Docker
}
