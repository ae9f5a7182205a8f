package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/regcl/regcl/internal/plural"
	"github.com/regcl/regcl/study"
	"github.com/regcl/regcl/sweep"
)

func sweepRunCommand() *cli.Command {
	return &cli.Command{
		Name:  "run",
		Usage: "train one shard of the grid (from --shard, or the scheduler's environment) into --out",
		Flags: flags([]cli.Flag{gridFlag(), maxRunsFlag(), outFlag("shared study folder: one record per run"),
			&cli.StringFlag{Name: "shard", Usage: "I/N: the I-th of N disjoint slices (default: SLURM_ARRAY_TASK_ID, or JOB_COMPLETION_INDEX with --count)"},
			&cli.IntFlag{Name: "count", Usage: "number of completions of a Kubernetes Indexed Job (with JOB_COMPLETION_INDEX)"},
		}, laneFlags(), deviceFlags(), dataFlags()),
		Action: func(c *cli.Context) error {
			lanesN, par, err := laneOptions(c)
			if err != nil {
				return fmt.Errorf("sweep run: %w", err)
			}
			runs, err := sweepGrid(c)
			if err != nil {
				return err
			}
			var sh sweep.Shard
			if s := c.String("shard"); s != "" {
				sh, err = sweep.ParseShard(s)
			} else {
				sh, err = sweep.ShardFromEnv(os.Getenv, c.Int("count"))
			}
			if err != nil {
				return fmt.Errorf("sweep run: %w", err)
			}
			d := study.Open(c.String("out"))
			if err := d.CheckWritable(); err != nil {
				return fmt.Errorf("sweep run: --out %s: %w", d.Path(), err)
			}
			mine := sh.Select(runs)
			fmt.Printf("shard %s: %d of the grid's %s\n", sh, len(mine), plural.Count(len(runs), "run", "runs"))
			if len(mine) == 0 {
				return nil
			}
			data, dev, err := dataAndDevice(c)
			if err != nil {
				return fmt.Errorf("sweep run: %w", err)
			}
			defer dev.Close()
			// A run another task has claimed (overlapping shards, a task
			// started twice) is skipped: that task finishes it.
			if _, err := d.Run(c.Context, mine, study.RunOptions{Data: data, Device: dev, Lanes: lanesN, Parallel: par, Log: os.Stdout}); err != nil {
				return fmt.Errorf("sweep run: %w", err)
			}
			return nil
		},
	}
}
