package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// UserError is an error whose message is meant for the person at the
// terminal, with a hint that says what to do about it.
type UserError struct {
	Msg  string
	Hint string
	Err  error // optional cause, kept for errors.Is/As
}

func (e *UserError) Error() string {
	if e.Err != nil {
		return e.Msg + ": " + e.Err.Error()
	}
	return e.Msg
}

func (e *UserError) Unwrap() error { return e.Err }

// usageError marks a command-line mistake (exit status 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// exitError carries a specific exit status, such as a run's own exit code,
// with nothing to print.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// exitCode maps an error to the process exit status and prints it once;
// a usage error points to the help of cmd, the command that ran.
//
//	0 ok, 1 error, 2 usage, 130 interrupted, or the run's own status.
func exitCode(err error, cmd *cobra.Command, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	if errors.Is(err, context.Canceled) {
		fmt.Fprintln(stderr, "ferry: interrupted")
		return 130
	}
	var ue *UserError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "ferry: %s\n", ue.Error())
		if ue.Hint != "" {
			fmt.Fprintf(stderr, "hint: %s\n", ue.Hint)
		}
		return 1
	}
	var us usageError
	if errors.As(err, &us) {
		path := "ferry"
		if cmd != nil {
			path = cmd.CommandPath()
		}
		fmt.Fprintf(stderr, "ferry: %s\nRun '%s --help' for usage.\n", us.err, path)
		return 2
	}
	fmt.Fprintf(stderr, "ferry: %s\n", err)
	return 1
}

// usageArgs makes every command's argument check return a usage error
// (exit status 2), cobra's own checks (NoArgs) included, and makes a command
// that only groups others refuse an unknown subcommand the same way.
func usageArgs(cmd *cobra.Command) {
	if cmd.Args == nil && cmd.HasSubCommands() && !cmd.Runnable() {
		cmd.Args = unknownSubcommand
		cmd.RunE = func(c *cobra.Command, _ []string) error { return c.Help() }
	}
	if check := cmd.Args; check != nil {
		cmd.Args = func(c *cobra.Command, args []string) error {
			err := check(c, args)
			var us usageError
			if err == nil || errors.As(err, &us) {
				return err
			}
			return usageError{err}
		}
	}
	for _, sub := range cmd.Commands() {
		usageArgs(sub)
	}
}

// unknownSubcommand refuses arguments to a command that only groups others.
func unknownSubcommand(c *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], c.CommandPath())
	if s := c.SuggestionsFor(args[0]); len(s) > 0 {
		msg += " (did you mean " + strings.Join(s, ", ") + "?)"
	}
	return errors.New(msg)
}
