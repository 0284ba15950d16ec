package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ferry-ml/ferry/agent"
	"github.com/ferry-ml/ferry/agent/compute"
	"github.com/ferry-ml/ferry/internal/ui"
	"github.com/spf13/cobra"
)

func newComputeCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "compute",
		Short: "Attach, list, inspect and detach compute targets",
		Long: `A compute target is where runs execute: "local" (this machine, always there)
or any Linux host you can reach over SSH, attached once by name: type remote
(a VM, a GPU box) or hdinsight (a Spark cluster's head node, where runs become
one spark-submit to YARN).`,
	}
	cmd.AddCommand(newComputeAttachCommand(g), newComputeListCommand(g), newComputeShowCommand(g),
		newComputeCheckCommand(g), newComputeDetachCommand(g))
	return cmd
}

type attachOptions struct {
	compute.Target
	PasswordStdin   bool
	PassphraseStdin bool
	AcceptNew       bool
	NoCheck         bool
	JSON            bool
	SharedRoot      string
}

func newComputeAttachCommand(g *globalOptions) *cobra.Command {
	var opts attachOptions
	cmd := &cobra.Command{
		Use:   "attach NAME --address HOST [flags]",
		Short: "Register a remote machine as a compute target",
		Long: `Register a Linux machine reachable over SSH as a compute target.

ferry connects once to check the address, the credentials and the host key,
unless --no-check. The host key must already be in your known_hosts file
(~/.ssh/known_hosts or --known-hosts); --accept-new-host-key records an
unknown key after showing its fingerprint (a changed key is always refused).
HOST may be an alias from ~/.ssh/config. Keys are recommended over passwords.
With --type hdinsight the host is a Spark cluster's head node (HDInsight:
<cluster>-ssh.azurehdinsight.net, user sshuser); its runs are PySpark runs
submitted with spark-submit (see 'ferry run --help').`,
		Example: `  ferry compute attach myvm --address 10.0.0.4 --username azureuser --private-key ~/.ssh/id_ed25519
  ferry compute attach gpu --address gpu-box          # an alias from ~/.ssh/config
  echo "$PASS" | ferry compute attach lab --address lab.example.com --username me --password-stdin
  ferry compute attach hdi --type hdinsight --address mycluster-ssh.azurehdinsight.net --username sshuser --private-key ~/.ssh/id_ed25519`,
		Args: exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name = args[0]
			return runComputeAttach(contextOf(cmd), opts, g, cmd.InOrStdin())
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Type, "type", "remote", "target type: remote (any Linux host over SSH), hdinsight (a Spark cluster's head node: runs go through spark-submit) or slurm (a Slurm cluster's login node: runs are sbatch jobs)")
	f.StringVar(&opts.Address, "address", "", "host name, IP address or ~/.ssh/config alias")
	f.IntVar(&opts.Port, "port", 0, "SSH port (default: from ~/.ssh/config, else 22)")
	f.StringVar(&opts.User, "username", "", "SSH user (default: from ~/.ssh/config, else your user name)")
	f.StringVar(&opts.PrivateKey, "private-key", "", "private key file (only this key is offered)")
	f.BoolVar(&opts.PasswordStdin, "password-stdin", false, "read the SSH password from standard input (keys are recommended)")
	f.BoolVar(&opts.PassphraseStdin, "passphrase-stdin", false, "read the private key's passphrase from standard input")
	f.StringVar(&opts.KnownHosts, "known-hosts", "", "known_hosts file (default ~/.ssh/known_hosts)")
	f.StringVar(&opts.StateDir, "state-dir", "", "executor state directory on the target (default ~/.ferry)")
	f.StringVar(&opts.SharedRoot, "shared-root", "", "slurm: a directory on the file system every node mounts at the same path; ferry keeps its blobs, environments and runs there")
	f.StringVar(&opts.Partition, "partition", "", "slurm: partition for runs (default: the cluster's default)")
	f.StringVar(&opts.Account, "account", "", "slurm: account for runs")
	f.StringVar(&opts.QOS, "qos", "", "slurm: quality of service for runs")
	f.BoolVar(&opts.AcceptNew, "accept-new-host-key", false, "record the host key if the host is unknown (never when it changed)")
	f.BoolVar(&opts.NoCheck, "no-check", false, "register without connecting")
	f.BoolVar(&opts.JSON, "json", false, "print the target as JSON")
	return cmd
}

func runComputeAttach(ctx context.Context, opts attachOptions, g *globalOptions, stdin io.Reader) error {
	p := ui.New(opts.JSON)
	t := opts.Target
	t.CreatedAt = time.Now().UTC().Truncate(time.Second)
	if opts.PasswordStdin && opts.PassphraseStdin {
		return usageError{errors.New("--password-stdin and --passphrase-stdin both read standard input; use one")}
	}
	if opts.PasswordStdin {
		pw, err := readSecretLine(stdin)
		if err != nil {
			return &UserError{Msg: "read password from standard input", Err: err}
		}
		t.Password = pw
	}
	if t.Name == compute.LocalName {
		return &UserError{Msg: "local is the built-in target (this machine) and needs no attaching",
			Hint: "give the SSH host another name: ferry compute attach NAME --address HOST"}
	}
	if err := slurmTarget(&t, opts); err != nil {
		return err
	}
	if err := t.Validate(); err != nil {
		return usageError{err}
	}
	store := compute.Open(g.Home)
	if _, err := store.Get(t.Name); err == nil {
		return &UserError{Msg: fmt.Sprintf("compute target %s already exists", t.Name),
			Hint: fmt.Sprintf("detach it first: ferry compute detach %s", t.Name)}
	}
	if !opts.NoCheck {
		pass := passphraseSource(opts.PassphraseStdin, stdin)
		conn, err := agent.Dial(ctx, t, g.connectOptions(pass, opts.AcceptNew))
		if err != nil {
			return connectError(t, err)
		}
		err = checkSharedRoot(ctx, conn)
		conn.Close()
		if err != nil {
			return err
		}
	}
	if err := store.Create(t); err != nil {
		return err
	}
	if opts.JSON {
		return p.PrintJSON(t.Public())
	}
	p.Printf("attached compute target %s (%s@%s)\n", t.Name, orDefault(t.User, "ssh config user"), hostPort(t))
	if t.Password != "" {
		p.Noticef("note: the password is stored in %s/targets/%s.json (mode 0600). SSH keys are safer:\n"+
			"  ssh-keygen -t ed25519 && ssh-copy-id %s, then attach with --private-key\n", g.Home, t.Name, t.Address)
	}
	p.Printf("next: ferry compute check %s   or   ferry run --compute %s train.py\n", t.Name, t.Name)
	return nil
}

func newComputeListCommand(g *globalOptions) *cobra.Command {
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List compute targets",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			targets, err := compute.Open(g.Home).List()
			if err != nil {
				return err
			}
			p := ui.New(jsonOut)
			if jsonOut {
				pub := make([]compute.Public, len(targets))
				for i, t := range targets {
					pub[i] = t.Public()
				}
				return p.PrintJSON(pub)
			}
			tw := tabwriter.NewWriter(p.Out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tTYPE\tADDRESS\tAUTH")
			for _, t := range targets {
				addr := "-"
				if t.SSH() {
					addr = orDefault(t.User, "") + "@" + hostPort(t)
					addr = strings.TrimPrefix(addr, "@")
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.Name, t.Type, addr, t.AuthKind())
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print JSON")
	return cmd
}

func newComputeShowCommand(g *globalOptions) *cobra.Command {
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "show NAME",
		Short: "Show a compute target's settings (never its secrets)",
		Args:  exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := getTarget(g, args[0])
			if err != nil {
				return err
			}
			p := ui.New(jsonOut)
			pub := t.Public()
			if jsonOut {
				return p.PrintJSON(pub)
			}
			tw := tabwriter.NewWriter(p.Out, 0, 4, 2, ' ', 0)
			row := func(k, v string) {
				if v != "" {
					fmt.Fprintf(tw, "%s\t%s\n", k, v)
				}
			}
			row("name", pub.Name)
			row("type", pub.Type)
			row("address", pub.Address)
			if pub.Port != 0 {
				row("port", strconv.Itoa(pub.Port))
			}
			row("username", pub.User)
			row("auth", pub.Auth)
			row("private key", pub.PrivateKey)
			row("known hosts", pub.KnownHosts)
			row("state dir", pub.StateDir)
			if !pub.CreatedAt.IsZero() {
				row("attached", pub.CreatedAt.Format(time.RFC3339))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print JSON")
	return cmd
}

func newComputeDetachCommand(g *globalOptions) *cobra.Command {
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "detach NAME",
		Short: "Forget a compute target (nothing on the machine is touched)",
		Args:  exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := agent.Detach(g.Home, args[0]); err != nil {
				if errors.Is(err, compute.ErrNotFound) {
					return unknownTarget(args[0])
				}
				return err
			}
			p := ui.New(jsonOut)
			if jsonOut {
				return p.PrintJSON(map[string]any{"name": args[0], "detached": true})
			}
			p.Printf("detached compute target %s\n", args[0])
			return nil
		},
	}
	cmd.Flags().BoolVar(&jsonOut, "json", false, `print JSON: {"name": NAME, "detached": true}`)
	return cmd
}

// getTarget loads a target, mapping "not found" to a helpful error.
func getTarget(g *globalOptions, name string) (compute.Target, error) {
	t, err := compute.Open(g.Home).Get(name)
	if errors.Is(err, compute.ErrNotFound) {
		return t, unknownTarget(name)
	}
	return t, err
}

func unknownTarget(name string) error {
	return &UserError{Msg: fmt.Sprintf("unknown compute target %q", name),
		Hint: "list targets with 'ferry compute list'; attach one with 'ferry compute attach NAME --address HOST'"}
}

func hostPort(t compute.Target) string {
	if t.Port != 0 {
		return t.Address + ":" + strconv.Itoa(t.Port)
	}
	return t.Address
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// readSecretLine reads one line (without its newline) from r.
func readSecretLine(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("standard input was empty")
	}
	return line, nil
}

// exactArgs is cobra.ExactArgs with a usage error that names the argument.
func exactArgs(n int, names string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usageError{fmt.Errorf("%s expects %s (got %d arguments)", cmd.CommandPath(), names, len(args))}
		}
		return nil
	}
}
