package runconfig

import (
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

// Azure ML v1 loads a .runconfig with ruamel.yaml's round-trip loader, which
// resolves plain scalars by the YAML 1.2 rules below, and hands each script
// argument to the script as Python's str() of the loaded value. These
// regular expressions are ruamel's resolver for YAML 1.2.
var (
	pyNullRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(?:~|null|Null|NULL|)$`) })
	pyBoolRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(?:true|True|TRUE|false|False|FALSE)$`) })
	pyIntRE  = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^(?:[-+]?0b[0-1_]+|[-+]?0o?[0-7_]+|[-+]?[0-9_]+|[-+]?0x[0-9a-fA-F_]+)$`)
	})
	pyFloatRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^(?:[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+|\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$`)
	})
)

// scalarKind is the type a YAML 1.2 loader gives a scalar.
type scalarKind int

const (
	kindStr scalarKind = iota
	kindNull
	kindBool
	kindInt
	kindFloat
)

// kindOf resolves scalar n as ruamel.yaml does: quoted and block scalars
// and those tagged !!str are strings; plain ones go by the regexps above.
func kindOf(n *yaml.Node) scalarKind {
	if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return kindStr
	}
	if n.Style&yaml.TaggedStyle != 0 && n.Tag == "!!str" {
		return kindStr
	}
	v := n.Value
	switch {
	case pyNullRE().MatchString(v):
		return kindNull
	case pyBoolRE().MatchString(v):
		return kindBool
	case pyIntRE().MatchString(v) && strings.ContainsAny(v, "0123456789"):
		return kindInt
	case pyFloatRE().MatchString(v):
		return kindFloat
	}
	return kindStr
}

// pyStr returns Python's str() of scalar n as Azure ML would load it:
// "None", "True"/"False", integers in decimal ("0x10" is "16", "1_000" is
// "1000"), floats in Python's repr ("1e3" is "1000.0", "1e-5" is "1e-05"),
// and strings verbatim. Timestamps stay as written.
func pyStr(n *yaml.Node) string {
	switch kindOf(n) {
	case kindNull:
		return "None"
	case kindBool:
		if strings.EqualFold(n.Value, "true") {
			return "True"
		}
		return "False"
	case kindInt:
		if i, ok := pyInt(n.Value); ok {
			return i.String()
		}
	case kindFloat:
		return pyFloat(n.Value)
	}
	return n.Value
}

// pyInt converts a YAML 1.2 integer: sign, underscores, 0b/0o/0x prefixes,
// and leading zeros meaning decimal (not octal, as in YAML 1.1).
func pyInt(s string) (*big.Int, bool) {
	s = strings.ReplaceAll(s, "_", "")
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimLeft(s, "+-")
	base := 10
	if len(s) > 2 && s[0] == '0' {
		switch s[1] {
		case 'b':
			base, s = 2, s[2:]
		case 'o':
			base, s = 8, s[2:]
		case 'x':
			base, s = 16, s[2:]
		}
	}
	i, ok := new(big.Int).SetString(s, base)
	if ok && neg {
		i.Neg(i)
	}
	return i, ok
}

// pyFloat formats a YAML 1.2 float as Python's repr does: the shortest
// digits that round-trip, fixed notation for exponents -4 to 15 (with ".0"
// when integral), scientific with a two-digit exponent otherwise.
func pyFloat(s string) string {
	s = strings.ReplaceAll(s, "_", "")
	switch strings.ToLower(strings.TrimLeft(s, "+")) {
	case ".inf":
		return "inf"
	case "-.inf":
		return "-inf"
	case ".nan":
		return "nan"
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return s
	}
	sci := strconv.FormatFloat(f, 'e', -1, 64)
	exp, _ := strconv.Atoi(sci[strings.IndexByte(sci, 'e')+1:])
	if exp < -4 || exp >= 16 {
		return sci
	}
	fixed := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.Contains(fixed, ".") {
		fixed += ".0"
	}
	return fixed
}
