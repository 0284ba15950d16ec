package runconfig

import (
	"strings"

	"go.yaml.in/yaml/v3"
)

// reasonHDInsight is the reason of the warnings about Spark fields, which
// only an hdinsight target honours (Warning.HDInsight).
const reasonHDInsight = "applies to hdinsight targets only (runs through spark-submit); ignored"

// defaultAppName is the spark.app.name Azure ML's templates write; ferry
// names the application with the run id instead, as Azure ML did.
const defaultAppName = "Azure ML Experiment"

// Spark is what an hdinsight target honours: hdi.yarnDeployMode,
// spark.configuration and environment.spark.
type Spark struct {
	// DeployMode is hdi.yarnDeployMode in lower case ("" when absent);
	// DeployModeLine is its line, for the error a bad value gets.
	DeployMode     string
	DeployModeLine int
	// Conf is spark.configuration, values as Python's str() of them,
	// without the template's spark.app.name.
	Conf map[string]string
	// Packages are environment.spark.packages as group:artifact:version.
	Packages []string
	// Repositories are environment.spark.repositories.
	Repositories []string
}

// spark returns the Spark section, creating it on first use.
func (p *parser) spark() *Spark {
	if p.rc.Spark == nil {
		p.rc.Spark = &Spark{}
	}
	return p.rc.Spark
}

// warnHDInsight records a warning that an hdinsight target makes moot.
func (p *parser) warnHDInsight(path string, v *yaml.Node) {
	p.warn(p.key, path, v, reasonHDInsight)
}

// HDInsight reports whether w is about a Spark field (framework PySpark,
// spark.*, hdi.*, environment.spark.*): ignored elsewhere, honoured on an
// hdinsight target, where the warning does not apply.
func (w Warning) HDInsight() bool {
	return w.Reason == reasonHDInsight
}

func setYarnDeployMode(p *parser, path string, v *yaml.Node) error {
	s, err := str(v, path)
	if err != nil || s == "" {
		return err
	}
	p.spark().DeployMode, p.spark().DeployModeLine = strings.ToLower(s), p.key.Line
	if !strings.EqualFold(s, "cluster") {
		p.warnHDInsight(path, v)
	}
	return nil
}

func setSparkConf(p *parser, path string, v *yaml.Node) error {
	if isEmpty(v) {
		return nil
	}
	if v.Kind != yaml.MappingNode {
		return &ParseError{Line: v.Line, Msg: path + " must be a mapping, got " + describe(v)}
	}
	kv, err := pairs(v)
	if err != nil {
		return err
	}
	conf := map[string]string{}
	for _, pair := range kv {
		val := resolve(pair[1])
		if val.Kind != yaml.ScalarNode {
			return &ParseError{Line: val.Line, Msg: path + "." + pair[0].Value + " must be a scalar, got " + describe(val)}
		}
		if pair[0].Value != "spark.app.name" || pyStr(val) != defaultAppName {
			conf[pair[0].Value] = pyStr(val)
		}
	}
	p.spark().Conf = conf
	if !isDefaultSparkConf(v) {
		p.warnHDInsight(path, v)
	}
	return nil
}

func setSparkPackages(p *parser, path string, v *yaml.Node) error {
	items, err := sparkList(v, path, func(n *yaml.Node) (string, bool) {
		if n.Kind == yaml.ScalarNode {
			return pyStr(n), true
		}
		if n.Kind != yaml.MappingNode {
			return "", false
		}
		kv, err := pairs(n)
		if err != nil {
			return "", false
		}
		parts := map[string]string{}
		for _, pair := range kv {
			parts[strings.ToLower(pair[0].Value)] = pyStr(resolve(pair[1]))
		}
		return parts["group"] + ":" + parts["artifact"] + ":" + parts["version"], true
	})
	if err != nil || len(items) == 0 {
		return err
	}
	p.spark().Packages = items
	p.warnHDInsight(path, v)
	return nil
}

func setSparkRepositories(p *parser, path string, v *yaml.Node) error {
	items, err := sparkList(v, path, func(n *yaml.Node) (string, bool) {
		return pyStr(n), n.Kind == yaml.ScalarNode
	})
	if err != nil || len(items) == 0 {
		return err
	}
	p.spark().Repositories = items
	p.warnHDInsight(path, v)
	return nil
}

// sparkList reads a sequence through item.
func sparkList(v *yaml.Node, path string, item func(*yaml.Node) (string, bool)) ([]string, error) {
	if isEmpty(v) {
		return nil, nil
	}
	v = resolve(v)
	if v.Kind != yaml.SequenceNode {
		return nil, &ParseError{Line: v.Line, Msg: path + " must be a list, got " + describe(v)}
	}
	var out []string
	for _, n := range v.Content {
		s, ok := item(resolve(n))
		if !ok {
			return nil, &ParseError{Line: n.Line, Msg: path + ": unexpected item " + describe(n)}
		}
		out = append(out, s)
	}
	return out, nil
}
