package runconfig

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Distributed launch modes, as ferry run --distributed names them.
const (
	ModePyTorch    = "pytorch"
	ModeMPI        = "mpi"
	ModeTensorFlow = "tensorflow"
)

// communicators maps Azure ML's communicator values (lower case) to the
// launch mode each one means; "none" means none.
var communicators = map[string]string{
	"none":            "",
	"nccl":            ModePyTorch,
	"gloo":            ModePyTorch,
	"openmpi":         ModeMPI,
	"intelmpi":        ModeMPI,
	"mpi":             ModeMPI,
	"parameterserver": ModeTensorFlow,
}

// Reasons of the warnings about distributed fields the run's mode does
// not use.
const (
	reasonMPIOnly        = "applies with communicator OpenMpi or IntelMpi only; ignored"
	reasonPyTorchOnly    = "applies to PyTorch runs (framework PyTorch or communicator Nccl/Gloo) only; ignored"
	reasonTensorFlowOnly = "applies with communicator ParameterServer only; ignored"
)

// Distribution is how a run's processes are placed and launched.
type Distribution struct {
	// Mode is "" (one process), ModePyTorch, ModeMPI or ModeTensorFlow.
	Mode             string
	Nodes            int
	ProcessesPerNode int
	// WorkerCount and ParameterServerCount split a tensorflow run's
	// processes; both 0 unless the file's own mode is tensorflow.
	WorkerCount          int
	ParameterServerCount int
	// Tasks, when above zero, is the process count where it is less than
	// Nodes x ProcessesPerNode: the last node runs fewer.
	Tasks int
}

// Override holds what the command line sets explicitly; a zero field
// leaves the file's value.
type Override struct {
	Mode             string
	Nodes            int
	ProcessesPerNode int
}

// Mode is the launch mode the file asks for, as Azure ML read it: the
// communicator's (Nccl/Gloo: pytorch, OpenMpi/IntelMpi: mpi,
// ParameterServer: tensorflow), else pytorch for framework PyTorch or a
// pytorch section that sets processCount or nodeCount, else none.
func (rc *RunConfig) Mode() string {
	if m := communicators[strings.ToLower(rc.Communicator)]; m != "" {
		return m
	}
	if strings.EqualFold(rc.Framework, "PyTorch") || rc.PyTorchProcessCount > 1 || rc.pytorchNodes {
		return ModePyTorch
	}
	return ""
}

// Distribution resolves the file's distributed settings, with o's fields
// in place of the file's where set. Processes per node come from
// mpi.processCountPerNode (mpi), pytorch.processCount over the nodes
// (pytorch) or workerCount + parameterServerCount over the nodes
// (tensorflow), rounded up: a total that does not divide evenly fills the
// nodes in order and leaves the last one short (Tasks). A total that would
// leave a node empty is an error, as is a tensorflow run whose workers and
// parameter servers do not fit the processes per node the flags ask for.
func (rc *RunConfig) Distribution(o Override) (Distribution, error) {
	file := rc.Mode()
	d := Distribution{Mode: file, Nodes: rc.NodeCount, ProcessesPerNode: 1}
	if o.Mode != "" {
		d.Mode = o.Mode
	}
	if o.Nodes > 0 {
		d.Nodes = o.Nodes
	}
	total, what := 0, ""
	switch file {
	case ModeMPI:
		d.ProcessesPerNode = max(rc.ProcessCountPerNode, 1)
	case ModePyTorch:
		total, what = rc.PyTorchProcessCount, fmt.Sprintf("pytorch.processCount (%d)", rc.PyTorchProcessCount)
	case ModeTensorFlow:
		tf, err := rc.tensorflow()
		if err != nil {
			return d, err
		}
		total, what = tf[0]+tf[1], fmt.Sprintf("tensorflow.workerCount + parameterServerCount (%d + %d)", tf[0], tf[1])
		if d.Mode == ModeTensorFlow {
			d.WorkerCount, d.ParameterServerCount = tf[0], tf[1]
		}
	}
	switch {
	case o.ProcessesPerNode > 0:
		d.ProcessesPerNode = o.ProcessesPerNode
		if d.WorkerCount == 0 { // only a tensorflow run's roles bind the total
			return d, nil
		}
	case total > 0:
		d.ProcessesPerNode = (total + d.Nodes - 1) / d.Nodes
	default:
		return d, nil
	}
	return d.place(total, what)
}

// place sets Tasks when total processes fill the nodes in blocks of
// ProcessesPerNode with the last node short, and refuses a total that
// leaves a node empty or does not fit.
func (d Distribution) place(total int, what string) (Distribution, error) {
	full := d.Nodes * d.ProcessesPerNode
	switch {
	case total == full:
		return d, nil
	case total < full && total > full-d.ProcessesPerNode:
		d.Tasks = total
		return d, nil
	}
	return d, fmt.Errorf("%s processes do not fit %d node(s) x %d process(es): ferry fills the nodes in order, and every node needs at least one", what, d.Nodes, d.ProcessesPerNode)
}

// tensorflow returns workerCount and parameterServerCount, with Azure
// ML's defaults (1 and 1) for absent fields.
func (rc *RunConfig) tensorflow() ([2]int, error) {
	w, ps := 1, 1
	if rc.WorkerCount != nil {
		w = *rc.WorkerCount
	}
	if rc.ParameterServerCount != nil {
		ps = *rc.ParameterServerCount
	}
	if w < 1 {
		return [2]int{}, fmt.Errorf("tensorflow.workerCount must be at least 1 with communicator ParameterServer")
	}
	return [2]int{w, ps}, nil
}

func setCommunicator(p *parser, path string, v *yaml.Node) error {
	s, err := str(v, path)
	if err != nil || s == "" {
		return err
	}
	if _, ok := communicators[strings.ToLower(s)]; !ok {
		return &ParseError{Line: v.Line, Msg: fmt.Sprintf("%s %q is not one of None, Nccl, Gloo, OpenMpi, IntelMpi, ParameterServer", path, s)}
	}
	p.rc.Communicator = s
	return nil
}

func setFramework(p *parser, path string, v *yaml.Node) error {
	s, err := str(v, path)
	if err != nil || s == "" {
		return err
	}
	p.rc.Framework = s
	switch strings.ToLower(s) {
	case "python", "pytorch", "tensorflow":
	case "pyspark":
		p.warnHDInsight(path, v)
	default:
		p.warn(v, path, v, "ferry launches Python, PyTorch and TensorFlow scripts only; run as Python")
	}
	return nil
}

func setNodeCount(p *parser, path string, v *yaml.Node) error {
	n, err := positive(v, path)
	if err != nil || n == 0 {
		return err
	}
	p.rc.NodeCount = n
	return nil
}

// setSectionNodes reads mpi.nodeCount or pytorch.nodeCount, which older
// SDKs wrote in place of the top-level nodeCount (finishDistributed
// reconciles them).
func setSectionNodes(p *parser, path string, v *yaml.Node) error {
	n, err := positive(v, path)
	if err != nil || n <= 1 {
		return err
	}
	p.sectionNodes = append(p.sectionNodes, sectionCount{path: path, line: v.Line, n: n})
	if strings.HasPrefix(path, "pytorch.") {
		p.rc.pytorchNodes = true
	}
	return nil
}

func setProcessCountPerNode(p *parser, path string, v *yaml.Node) (err error) {
	p.rc.ProcessCountPerNode, err = p.count("mpi.processCountPerNode", path, v)
	return err
}

func setPyTorchProcessCount(p *parser, path string, v *yaml.Node) (err error) {
	p.rc.PyTorchProcessCount, err = p.count("pytorch.processCount", path, v)
	return err
}

func setWorkerCount(p *parser, path string, v *yaml.Node) error {
	n, err := integer(v, path)
	if err == nil && !isNull(v) {
		p.rc.WorkerCount = &n
		p.mark("tensorflow.workerCount", path, v)
	}
	return err
}

func setParameterServerCount(p *parser, path string, v *yaml.Node) error {
	n, err := integer(v, path)
	if err == nil && !isNull(v) {
		p.rc.ParameterServerCount = &n
		p.mark("tensorflow.parameterServerCount", path, v)
	}
	return err
}

// count reads a process count (null: 0) and marks it as field name.
func (p *parser) count(name, path string, v *yaml.Node) (int, error) {
	n, err := positive(v, path)
	if err == nil && n > 0 {
		p.mark(name, path, v)
	}
	return n, err
}

// mark remembers where the field ferry calls name was written, and how
// (camelCase or snake_case), for a warning finishDistributed may give.
func (p *parser) mark(name, path string, v *yaml.Node) {
	if p.written == nil {
		p.written = make(map[string]Warning)
	}
	p.written[name] = Warning{Line: v.Line, Path: path}
}

// positive is integer, refusing 0; null is 0.
func positive(v *yaml.Node, path string) (int, error) {
	n, err := integer(v, path)
	if err == nil && n < 1 && !isNull(v) {
		return 0, &ParseError{Line: v.Line, Msg: path + " must be at least 1"}
	}
	return n, err
}

// sectionCount is a nodeCount written inside the mpi or pytorch section.
type sectionCount struct {
	path string
	line int
	n    int
}

// finishDistributed reconciles the section node counts with nodeCount and
// warns about the distributed fields that the run's mode does not use.
func (p *parser) finishDistributed() error {
	for _, s := range p.sectionNodes {
		switch p.rc.NodeCount {
		case 1:
			p.rc.NodeCount = s.n
		case s.n:
		default:
			return &ParseError{Line: s.line, Msg: fmt.Sprintf("%s (%d) and nodeCount (%d) disagree", s.path, s.n, p.rc.NodeCount)}
		}
	}
	mode := p.rc.Mode()
	if mode != ModeMPI && p.rc.ProcessCountPerNode > 1 {
		p.warnAt("mpi.processCountPerNode", p.rc.ProcessCountPerNode, reasonMPIOnly)
	}
	if mode != ModePyTorch && p.rc.PyTorchProcessCount > 1 {
		p.warnAt("pytorch.processCount", p.rc.PyTorchProcessCount, reasonPyTorchOnly)
	}
	if mode != ModeTensorFlow {
		if w := p.rc.WorkerCount; w != nil && *w != 1 {
			p.warnAt("tensorflow.workerCount", *w, reasonTensorFlowOnly)
		}
		if ps := p.rc.ParameterServerCount; ps != nil && *ps != 1 {
			p.warnAt("tensorflow.parameterServerCount", *ps, reasonTensorFlowOnly)
		}
	}
	return nil
}

// warnAt warns about the integer field ferry calls name, where and as it
// was written.
func (p *parser) warnAt(name string, n int, reason string) {
	w := p.written[name]
	w.Value, w.Reason = fmt.Sprint(n), reason
	p.warnings = append(p.warnings, w)
}
