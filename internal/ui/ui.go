// Package ui writes user-facing output: text for people, JSON for programs.
//
// It is the only place that formats what the user reads on stdout;
// diagnostics go through hclog to stderr and job output is streamed raw.
package ui

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"golang.org/x/term"
)

// Printer writes command output to Out and short notices to Err.
type Printer struct {
	Out  io.Writer
	Err  io.Writer
	JSON bool
}

// New returns a Printer on the process's stdout and stderr.
func New(jsonOut bool) *Printer {
	return &Printer{Out: os.Stdout, Err: os.Stderr, JSON: jsonOut}
}

// Printf writes text output.
func (p *Printer) Printf(format string, args ...any) {
	fmt.Fprintf(p.Out, format, args...)
}

// Noticef writes a notice for the person at the terminal to stderr, so that
// stdout stays data.
func (p *Printer) Noticef(format string, args ...any) {
	fmt.Fprintf(p.Err, format, args...)
}

// PrintJSON writes v as indented JSON followed by a newline.
func (p *Printer) PrintJSON(v any) error {
	enc := json.NewEncoder(p.Out)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	return nil
}

// ErrIsTerminal reports whether the error stream is a terminal, which decides
// whether progress bars are drawn.
func (p *Printer) ErrIsTerminal() bool {
	f, ok := p.Err.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
