package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/regcl/regcl/internal/plural"
	"github.com/regcl/regcl/sweep"
	"github.com/regcl/regcl/train"
)

// sweepCommand is `regcl sweep` (list a grid's runs) and its subcommands,
// each in a file of its own: sweep_run.go, sweep_submit.go, sweep_status.go.
func sweepCommand() *cli.Command {
	return &cli.Command{
		Name:  "sweep",
		Usage: "expand a grid into runs; run shards of it (on Slurm or Kubernetes); submit a Slurm job array",
		Flags: []cli.Flag{gridFlag(), maxRunsFlag()},
		Action: func(c *cli.Context) error {
			runs, err := sweepGrid(c)
			if err != nil {
				return err
			}
			for i, l := range train.StudyLabels(runs) {
				fmt.Printf("%s\t%s\t%s\n", runs[i].ID(), l, runs[i].Model.Describe())
			}
			fmt.Println(plural.Count(len(runs), "run", "runs"))
			return nil
		},
		Subcommands: []*cli.Command{sweepRunCommand(), sweepSubmitCommand(), sweepStatusCommand()},
	}
}

// sweepGrid reads and expands --grid.
func sweepGrid(c *cli.Context) ([]train.Config, error) {
	path := c.String("grid")
	if path == "" {
		return nil, fmt.Errorf("sweep: --grid FILE is required")
	}
	g, err := sweep.ReadGrid(path)
	if err != nil {
		return nil, fmt.Errorf("sweep: %w", err)
	}
	if m := c.Int("max-runs"); c.IsSet("max-runs") && m < 1 {
		return nil, fmt.Errorf("sweep: --max-runs must be at least 1, got %d", m)
	}
	runs, err := g.Expand(c.Int("max-runs"))
	if err != nil {
		return nil, fmt.Errorf("sweep: %s: %w", path, err)
	}
	return runs, nil
}
