package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ferry-ml/ferry/agent"
	"github.com/ferry-ml/ferry/internal/ui"
	"github.com/ferry-ml/ferry/internal/units"
	"github.com/spf13/cobra"
)

type checkOptions struct {
	JSON            bool
	PassphraseStdin bool
}

func newComputeCheckCommand(g *globalOptions) *cobra.Command {
	var opts checkOptions
	cmd := &cobra.Command{
		Use:   "check NAME",
		Short: "Connect to a compute target and report what it has",
		Long: `Connect to a compute target and report its OS, architecture, Python, conda
tool (micromamba, mamba or conda), Docker, GPUs (nvidia-smi) and the free disk
where the executor keeps its state. For an hdinsight target also the Spark
version and spark-submit's path, YARN's nodes (running, unhealthy), the
cluster's default file system and the pythons found. Nothing is installed.`,
		Args: exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runComputeCheck(contextOf(cmd), opts, g, args[0], cmd)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON")
	cmd.Flags().BoolVar(&opts.PassphraseStdin, "passphrase-stdin", false, "read the private key's passphrase from standard input")
	return cmd
}

// checkReport is the JSON of `ferry compute check`.
type checkReport struct {
	Name      string        `json:"name"`
	Type      string        `json:"type"`
	ConnectMS int64         `json:"connect_ms"`
	Facts     *agent.Facts  `json:"facts"`
	Elapsed   time.Duration `json:"-"`
}

func runComputeCheck(ctx context.Context, opts checkOptions, g *globalOptions, name string, cmd *cobra.Command) error {
	t, err := getTarget(g, name)
	if err != nil {
		return err
	}
	start := time.Now()
	conn, err := agent.Dial(ctx, t, g.connectOptions(passphraseSource(opts.PassphraseStdin, cmd.InOrStdin()), false))
	if err != nil {
		return connectError(t, err)
	}
	defer conn.Close()
	connected := time.Since(start)
	facts, err := conn.Probe(ctx)
	if err != nil {
		return fmt.Errorf("check %s: %w", name, err)
	}
	rep := checkReport{Name: t.Name, Type: t.Type, ConnectMS: connected.Milliseconds(), Facts: facts}
	p := ui.New(opts.JSON)
	if opts.JSON {
		return p.PrintJSON(rep)
	}
	printFacts(p, rep)
	return nil
}

func printFacts(p *ui.Printer, rep checkReport) {
	f := rep.Facts
	tw := tabwriter.NewWriter(p.Out, 0, 4, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }
	row("compute", fmt.Sprintf("%s (%s), connected in %d ms", rep.Name, rep.Type, rep.ConnectMS))
	row("os", f.OS+" (kernel "+f.Kernel+")")
	arch := f.Arch
	if agent.GoArch(f.Arch) == "" {
		arch += " (not supported by ferry-executor: linux/amd64 and linux/arm64 only)"
	}
	row("arch", arch)
	row("cpus / memory", f.CPUs+" / "+humanKB(f.MemKB))
	row("python", orDefault(strings.TrimSpace(f.Python+" "+paren(f.PythonPath)), "not found (install python3, or pass --python PATH to ferry run)"))
	row("conda", orDefault(strings.TrimSpace(f.CondaTool+" "+paren(f.CondaPath)), "not found (micromamba, mamba or conda is needed for --conda-file)"))
	docker := "not found"
	if f.DockerClient != "" {
		docker = "client " + f.DockerClient
		if f.DockerServer != "" {
			docker += ", engine " + f.DockerServer
		} else {
			docker += ", engine not reachable by this user"
		}
	}
	row("docker", docker)
	if len(f.GPUs) == 0 {
		row("gpus", "none (nvidia-smi not found or no GPU)")
	} else {
		row("gpus", fmt.Sprintf("%d: %s", len(f.GPUs), strings.Join(f.GPUs, "; ")))
	}
	row("disk free", humanKB(f.DiskFreeKB)+" in "+f.DiskDir)
	if f.Slurm != nil {
		slurmRows(f.Slurm, row)
	}
	if s := f.Spark; s != nil {
		row("spark-submit", orDefault(strings.TrimSpace(s.SparkSubmit+" "+paren(orDefault(s.Version, "version unknown"))), "not found: PySpark runs need spark-submit on the head node's PATH"))
		row("yarn nodes", s.String())
		row("default fs", orDefault(s.DefaultFS, "unknown (hdfs not found)"))
		row("pythons", orDefault(strings.Join(s.Pythons, "; "), "none found"))
	}
	tw.Flush()
}

func paren(s string) string {
	if s == "" {
		return ""
	}
	return "(" + s + ")"
}

func humanKB(kb string) string {
	n, err := strconv.ParseInt(kb, 10, 64)
	if err != nil {
		return "unknown"
	}
	return units.Bytes(n * 1024)
}
