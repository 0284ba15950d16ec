package runconfig

import (
	"strings"

	"go.yaml.in/yaml/v3"
)

// field describes one key of a run configuration mapping. Exactly one of
// children, set, entries/isDefault applies; a field with none is known and
// inert (it changes nothing ferry does, whatever its value).
type field struct {
	// key is the name as Azure ML writes it. Keys match case-insensitively
	// and ignoring "_", as Azure ML's loader maps camelCase and snake_case
	// to the same attribute.
	key string
	// children makes the field a section: a mapping of further fields.
	children []field
	// set honours the field.
	set func(p *parser, path string, v *yaml.Node) error
	// isDefault marks a field ferry cannot honour: it warns with reason
	// unless isDefault(v).
	isDefault func(v *yaml.Node) bool
	// entries marks a user-keyed mapping ferry cannot honour: one warning
	// per entry, with reason.
	entries bool
	reason  string
}

// section walks mapping m (null is an empty section) against fields.
func (p *parser) section(m *yaml.Node, path string, fields []field) error {
	if isNull(m) {
		return nil
	}
	if m.Kind != yaml.MappingNode {
		return &ParseError{Line: m.Line, Msg: path + " must be a mapping, got " + describe(m)}
	}
	kv, err := pairs(m)
	if err != nil {
		return err
	}
	for _, pair := range kv {
		if err := p.field(pair[0], pair[1], path, fields); err != nil {
			return err
		}
	}
	return nil
}

// field handles one key/value pair of a section.
func (p *parser) field(k, v *yaml.Node, parent string, fields []field) error {
	path := k.Value
	if parent != "" {
		path = parent + "." + k.Value
	}
	f, ok := lookup(fields, k.Value)
	switch {
	case !ok:
		p.warn(k, path, v, "unknown field; ignored")
	case f.children != nil:
		return p.section(v, path, f.children)
	case f.set != nil:
		p.key = k
		return f.set(p, path, v)
	case f.entries:
		return p.entryWarnings(v, path, f.reason)
	case f.isDefault != nil && !f.isDefault(v):
		p.warn(k, path, v, f.reason)
	}
	return nil
}

// entryWarnings warns once per entry of the user-keyed mapping v.
func (p *parser) entryWarnings(v *yaml.Node, path, reason string) error {
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
	for _, pair := range kv {
		p.warn(pair[0], path+"."+pair[0].Value, pair[1], reason)
	}
	return nil
}

// lookup finds the field named key.
func lookup(fields []field, key string) (field, bool) {
	want := canonical(key)
	for _, f := range fields {
		if canonical(f.key) == want {
			return f, true
		}
	}
	return field{}, false
}

// canonical folds case and drops "_": "max_run_duration_seconds" and
// "maxRunDurationSeconds" name the same field.
func canonical(key string) string {
	return strings.ToLower(strings.ReplaceAll(key, "_", ""))
}

// unsupported is a field ferry cannot honour, default when empty or equal
// (case-insensitively, as resolved text) to one of defaults.
func unsupported(key, reason string, defaults ...string) field {
	return field{key: key, reason: reason, isDefault: func(v *yaml.Node) bool {
		if isEmpty(v) {
			return true
		}
		if v.Kind != yaml.ScalarNode {
			return false
		}
		for _, d := range defaults {
			if strings.EqualFold(pyStr(v), d) {
				return true
			}
		}
		return false
	}}
}

// entries is a user-keyed mapping ferry cannot honour.
func entries(key, reason string) field {
	return field{key: key, entries: true, reason: reason}
}

// inert is a known field that changes nothing ferry does.
func inert(key string) field {
	return field{key: key}
}

// section is a field holding further fields.
func section(key string, children ...field) field {
	return field{key: key, children: children}
}

// honoured is a field ferry reads into RunConfig.
func honoured(key string, set func(p *parser, path string, v *yaml.Node) error) field {
	return field{key: key, set: set}
}
