package runconfig

import "github.com/ferry-ml/ferry/internal/yamlnode"

// SyntaxError is malformed YAML, with the line where the file stops
// parsing (see yamlnode.SyntaxError).
type SyntaxError = yamlnode.SyntaxError

func syntaxError(data []byte, err error) *SyntaxError { return yamlnode.Syntax(data, err) }
