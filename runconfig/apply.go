package runconfig

import (
	"fmt"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

func setScript(p *parser, path string, v *yaml.Node) (err error) {
	p.rc.Script, err = str(v, path)
	return err
}

func setTarget(p *parser, path string, v *yaml.Node) (err error) {
	p.rc.Target, err = str(v, path)
	return err
}

func setArguments(p *parser, path string, v *yaml.Node) (err error) {
	p.rc.Arguments, err = args(v, path)
	return err
}

func setMaxDuration(p *parser, path string, v *yaml.Node) error {
	n, err := integer(v, path)
	if err != nil {
		return err
	}
	p.rc.MaxDuration = time.Duration(n) * time.Second
	return nil
}

func setEnv(p *parser, path string, v *yaml.Node) (err error) {
	p.rc.Env, err = envMap(v, path)
	return err
}

func setRunEnv(p *parser, path string, v *yaml.Node) (err error) {
	p.runEnv, err = envMap(v, path)
	return err
}

func setUserManaged(p *parser, path string, v *yaml.Node) (err error) {
	p.rc.UserManaged, err = boolean(v, path)
	return err
}

func setInterpreter(p *parser, path string, v *yaml.Node) error {
	s, err := str(v, path)
	if s != "" {
		p.rc.Interpreter = s
	}
	return err
}

func setCondaFile(p *parser, path string, v *yaml.Node) (err error) {
	p.rc.CondaFile, err = str(v, path)
	return err
}

// setCondaSpec keeps an inline conda spec as YAML for conda.ParseSpec.
func setCondaSpec(p *parser, path string, v *yaml.Node) error {
	if isEmpty(v) {
		return nil
	}
	if v.Kind != yaml.MappingNode {
		return &ParseError{Line: v.Line, Msg: path + " must be a mapping, got " + describe(v)}
	}
	out, err := yaml.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	p.rc.CondaSpec = out
	return nil
}

func setDockerEnabled(p *parser, path string, v *yaml.Node) error {
	on, err := boolean(v, path)
	p.docker().Enabled = p.docker().Enabled || on
	return err
}

// setUseDocker reads the newer docker.useDocker; either it or the older
// environment.docker.enabled turns docker on.
func setUseDocker(p *parser, path string, v *yaml.Node) error {
	return setDockerEnabled(p, path, v)
}

func setBaseImage(p *parser, path string, v *yaml.Node) (err error) {
	p.docker().BaseImage, err = str(v, path)
	return err
}

func setDockerfile(p *parser, path string, v *yaml.Node) (err error) {
	p.docker().Dockerfile, err = str(v, path)
	return err
}

func setGPU(p *parser, path string, v *yaml.Node) (err error) {
	p.docker().GPU, err = boolean(v, path)
	return err
}

func setDockerArguments(p *parser, path string, v *yaml.Node) error {
	a, err := args(v, path)
	if len(a) > 0 {
		p.docker().Arguments = a
	}
	return err
}

func setShmSize(p *parser, path string, v *yaml.Node) error {
	s, err := str(v, path)
	if s != "" {
		p.docker().ShmSize = s
	}
	return err
}

// setRunDockerArguments reads docker.arguments, which newer files use in
// place of environment.docker.arguments; a non-empty value wins.
func setRunDockerArguments(p *parser, path string, v *yaml.Node) error {
	return setDockerArguments(p, path, v)
}

// setRunShmSize reads docker.shmSize, which wins over the older
// environment.docker.shmSize when set.
func setRunShmSize(p *parser, path string, v *yaml.Node) error {
	return setShmSize(p, path, v)
}

// str returns scalar v's text ("" for null).
func str(v *yaml.Node, path string) (string, error) {
	if isNull(v) {
		return "", nil
	}
	if v.Kind != yaml.ScalarNode {
		return "", &ParseError{Line: v.Line, Msg: path + " must be a string, got " + describe(v)}
	}
	return v.Value, nil
}

// args returns list v as Azure ML passes its entries: Python's str().
func args(v *yaml.Node, path string) ([]string, error) {
	if isNull(v) {
		return nil, nil
	}
	if v.Kind != yaml.SequenceNode {
		return nil, &ParseError{Line: v.Line, Msg: path + " must be a list, got " + describe(v)}
	}
	out := make([]string, 0, len(v.Content))
	for _, c := range v.Content {
		c = resolve(c)
		if c.Kind != yaml.ScalarNode {
			return nil, &ParseError{Line: c.Line, Msg: path + " entries must be strings or numbers, got " + describe(c)}
		}
		out = append(out, pyStr(c))
	}
	return out, nil
}

// envMap returns mapping v with values as Python's str() of each.
func envMap(v *yaml.Node, path string) (map[string]string, error) {
	if isNull(v) {
		return nil, nil
	}
	if v.Kind != yaml.MappingNode {
		return nil, &ParseError{Line: v.Line, Msg: path + " must be a mapping, got " + describe(v)}
	}
	kv, err := pairs(v)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(kv))
	for _, pair := range kv {
		if pair[1].Kind != yaml.ScalarNode {
			return nil, &ParseError{Line: pair[1].Line, Msg: path + "." + pair[0].Value + " must be a string, got " + describe(pair[1])}
		}
		out[pair[0].Value] = pyStr(pair[1])
	}
	return out, nil
}

// boolean returns v as a YAML 1.2 boolean; null is false.
func boolean(v *yaml.Node, path string) (bool, error) {
	if isNull(v) {
		return false, nil
	}
	if v.Kind != yaml.ScalarNode || kindOf(v) != kindBool {
		return false, &ParseError{Line: v.Line, Msg: path + " must be true or false, got " + describe(v)}
	}
	return strings.EqualFold(v.Value, "true"), nil
}

// integer returns v as a non-negative integer; null is 0.
func integer(v *yaml.Node, path string) (int, error) {
	if isNull(v) {
		return 0, nil
	}
	if v.Kind == yaml.ScalarNode && kindOf(v) == kindInt {
		if i, ok := pyInt(v.Value); ok && i.IsInt64() && i.Int64() >= 0 && i.Int64() <= 1<<31 {
			return int(i.Int64()), nil
		}
	}
	return 0, &ParseError{Line: v.Line, Msg: path + " must be a non-negative integer, got " + describe(v)}
}
