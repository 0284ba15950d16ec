package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-ml/ferry/conda"
	"github.com/ferry-ml/ferry/executor/api"
	"github.com/ferry-ml/ferry/executor/client"
	"github.com/ferry-ml/ferry/internal/ui"
	"github.com/ferry-ml/ferry/internal/units"
	"github.com/spf13/cobra"
)

type envOptions struct {
	Compute string
	JSON    bool
	Keep    int
	MaxSize string
}

func newEnvCommand(g *globalOptions) *cobra.Command {
	var opts envOptions
	cmd := &cobra.Command{
		Use:   "env",
		Short: "List and remove the environments cached on a compute target",
		Long: `Conda environments and docker images (ferry-env:<key>, built from
--dockerfile or a conda spec on top of an image) are built once per spec on
the target (the key is the hash of the normalised spec) and reused by every
later run with the same spec. These commands list them and free their disk
space; prune orders both kinds together by last use. Only images ferry built
(labelled ferry.key) are removed. Base images runs used as they are
(--docker-image with nothing to build) are listed too, as docker with
"(base)" after the image; rm forgets such a record and leaves the image on
the engine ('docker rmi IMAGE' removes it), and prune leaves them alone.`,
	}
	cmd.PersistentFlags().StringVar(&opts.Compute, "compute", envOr("FERRY_COMPUTE", "local"), "compute target (env FERRY_COMPUTE)")
	list := &cobra.Command{Use: "list", Short: "List cached environments, least recently used first", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runEnvList(contextOf(cmd), opts, g) }}
	list.Flags().BoolVar(&opts.JSON, "json", false, "print JSON")
	rm := &cobra.Command{Use: "rm KEY...", Short: "Remove cached environments (a key prefix of 12+ characters works)", Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runEnvRemove(contextOf(cmd), opts, g, args) }}
	prune := &cobra.Command{Use: "prune", Short: "Remove the least recently used environments", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runEnvPrune(contextOf(cmd), opts, g) }}
	prune.Flags().IntVar(&opts.Keep, "keep", -1, "keep this many most recently used environments")
	prune.Flags().StringVar(&opts.MaxSize, "max-size", "", "keep at most this much in all, e.g. 10G")
	prune.Flags().BoolVar(&opts.JSON, "json", false, "print JSON")
	rm.Flags().BoolVar(&opts.JSON, "json", false, `print JSON: {"removed": [environments]}`)
	cmd.AddCommand(list, rm, prune)
	return cmd
}

func runEnvList(ctx context.Context, opts envOptions, g *globalOptions) error {
	conn, err := g.connect(ctx, opts.Compute)
	if err != nil {
		return err
	}
	defer conn.Close()
	envs, err := conn.Executor.ListEnvs(ctx)
	if err != nil {
		return fmt.Errorf("list environments on %s: %w", opts.Compute, err)
	}
	p := ui.New(opts.JSON)
	if opts.JSON {
		return p.PrintJSON(envs)
	}
	printEnvs(p, envs)
	return nil
}

func printEnvs(p *ui.Printer, envs []api.EnvInfo) {
	p.Printf("%-12s  %-6s  %9s  %-20s  %-20s  %s\n", "KEY", "KIND", "SIZE", "LAST USED", "CREATED", "IMAGE OR PREFIX")
	for _, e := range envs {
		where := e.Prefix
		if e.Base {
			where += " (base)"
		}
		p.Printf("%-12s  %-6s  %9s  %-20s  %-20s  %s\n", conda.ShortKey(e.Key), e.Kind, units.Bytes(e.Size),
			e.LastUsed.Local().Format(time.DateTime), e.CreatedAt.Local().Format(time.DateTime), where)
	}
}

func runEnvRemove(ctx context.Context, opts envOptions, g *globalOptions, keys []string) error {
	conn, err := g.connect(ctx, opts.Compute)
	if err != nil {
		return err
	}
	defer conn.Close()
	envs, err := conn.Executor.ListEnvs(ctx)
	if err != nil {
		return fmt.Errorf("list environments on %s: %w", opts.Compute, err)
	}
	p := ui.New(opts.JSON)
	removed := []api.EnvInfo{}
	for _, k := range keys {
		env, err := matchKey(envs, k)
		if err == nil {
			_, err = conn.Executor.RemoveEnv(ctx, env.Key)
			err = removeEnvError(env, err)
		}
		if err != nil {
			// What was removed before the failure is still said.
			return errors.Join(printRemoved(p, removed), err)
		}
		removed = append(removed, env)
		switch {
		case opts.JSON:
		case env.Base:
			p.Printf("forgot %s: base image %s stays on the engine ('docker rmi %s' removes it)\n", conda.ShortKey(env.Key), env.Prefix, env.Prefix)
		default:
			p.Printf("removed %s\n", conda.ShortKey(env.Key))
		}
	}
	return printRemoved(p, removed)
}

// printRemoved prints ferry env rm's JSON answer; text was printed as it went.
func printRemoved(p *ui.Printer, removed []api.EnvInfo) error {
	if !p.JSON {
		return nil
	}
	return p.PrintJSON(map[string]any{"removed": removed})
}

// removeEnvError explains a refused removal of env: a 409 means a conda
// environment is being built or a container uses the image.
func removeEnvError(env api.EnvInfo, err error) error {
	if err == nil {
		return nil
	}
	var ae *client.APIError
	if !errors.As(err, &ae) || ae.Status != 409 {
		return fmt.Errorf("remove environment %s: %w", conda.ShortKey(env.Key), err)
	}
	if env.Kind == api.EnvDocker {
		return &UserError{Msg: fmt.Sprintf("docker image %s is in use by a container", env.Prefix),
			Hint: "remove the container ('docker ps -a --filter ancestor=" + env.Prefix + "') or wait for its run to end"}
	}
	return &UserError{Msg: fmt.Sprintf("environment %s is being built", conda.ShortKey(env.Key)), Hint: "try again once the run building it has started"}
}

// matchKey finds the one environment whose key starts with prefix.
func matchKey(envs []api.EnvInfo, prefix string) (api.EnvInfo, error) {
	var found []api.EnvInfo
	for _, e := range envs {
		if strings.HasPrefix(e.Key, prefix) {
			found = append(found, e)
		}
	}
	switch {
	case len(found) == 1:
		return found[0], nil
	case len(found) == 0:
		return api.EnvInfo{}, &UserError{Msg: fmt.Sprintf("no environment %s", prefix), Hint: "'ferry env list' shows the keys"}
	}
	return api.EnvInfo{}, &UserError{Msg: fmt.Sprintf("%s matches %d environments", prefix, len(found)), Hint: "give more of the key"}
}

func runEnvPrune(ctx context.Context, opts envOptions, g *globalOptions) error {
	maxSize, err := parseSize(opts.MaxSize)
	if err != nil {
		return err
	}
	if opts.Keep < 0 && maxSize == 0 {
		return usageError{errors.New("ferry env prune needs --keep N or --max-size SIZE")}
	}
	conn, err := g.connect(ctx, opts.Compute)
	if err != nil {
		return err
	}
	defer conn.Close()
	res, err := conn.Executor.PruneEnvs(ctx, api.PruneRequest{Keep: opts.Keep, MaxSize: maxSize})
	if err != nil {
		return fmt.Errorf("prune environments on %s: %w", opts.Compute, err)
	}
	p := ui.New(opts.JSON)
	if opts.JSON {
		return p.PrintJSON(res)
	}
	var freed int64
	for _, e := range res.Removed {
		p.Printf("removed %s (%s)\n", conda.ShortKey(e.Key), units.Bytes(e.Size))
		freed += e.Size
	}
	p.Printf("%d removed, %s freed, %d kept\n", len(res.Removed), units.Bytes(freed), len(res.Kept))
	return nil
}

// parseSize reads "10G", "500M", "2k" or a plain byte count (powers of 1024).
func parseSize(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	mult := int64(1)
	num := strings.TrimSuffix(strings.ToUpper(strings.TrimSpace(s)), "B")
	if i := strings.IndexAny(num, "KMGT"); i >= 0 && i == len(num)-1 {
		mult = int64(1) << (10 * (strings.IndexByte("KMGT", num[i]) + 1))
		num = num[:i]
	}
	n, err := strconv.ParseFloat(num, 64)
	if err != nil || n < 0 {
		return 0, usageError{fmt.Errorf("--max-size %q: want a size such as 10G", s)}
	}
	return int64(n * float64(mult)), nil
}
