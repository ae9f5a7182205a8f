package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/regcl/regcl/study"
	"github.com/regcl/regcl/sweep"
	"github.com/regcl/regcl/train"
)

func sweepGrid(c *cli.Context) ([]train.Config, error) {
	path := c.String("grid")
	if path == "" {
		return nil, fmt.Errorf("sweep: --grid FILE is required")
	}
	g, err := sweep.ReadGrid(path)
	if err != nil {
		return nil, fmt.Errorf("sweep: %w", err)
	}
	runs, err := g.Expand()
	if err != nil {
		return nil, fmt.Errorf("sweep: %s: %w", path, err)
	}
	return runs, nil
}

func sweepCommand() *cli.Command {
	gridFlag := &cli.StringFlag{Name: "grid", Usage: "the sweep's grid, YAML or JSON (model, l1, l2, dropout, batch_norm, hidden, lr, epochs, batch_size, train_size, validation_split, seeds)"}
	outFlag := &cli.StringFlag{Name: "out", Value: "results", Usage: "shared output folder: one record per run"}
	return &cli.Command{
		Name:  "sweep",
		Usage: "expand a grid into runs; run shards of it (on Slurm or Kubernetes); submit a Slurm job array",
		Flags: []cli.Flag{gridFlag},
		Action: func(c *cli.Context) error {
			runs, err := sweepGrid(c)
			if err != nil {
				return err
			}
			for i, l := range train.StudyLabels(runs) {
				fmt.Printf("%s\t%s\t%s\n", runs[i].ID(), l, runs[i].Model.Describe())
			}
			fmt.Printf("%d runs\n", len(runs))
			return nil
		},
		Subcommands: []*cli.Command{
			{
				Name:  "run",
				Usage: "train one shard of the grid (from --shard, or the scheduler's environment) into --out",
				Flags: []cli.Flag{gridFlag, outFlag,
					&cli.StringFlag{Name: "shard", Usage: "I/N: the I-th of N disjoint slices (default: SLURM_ARRAY_TASK_ID, or JOB_COMPLETION_INDEX with --count)"},
					&cli.IntFlag{Name: "count", Usage: "number of completions of a Kubernetes Indexed Job (with JOB_COMPLETION_INDEX)"},
					&cli.StringFlag{Name: "device", Value: "auto", Usage: "auto, cpu, opencl, or opencl:P:D"},
					&cli.StringFlag{Name: "data", Usage: "folder with the four MNIST files"},
					&cli.BoolFlag{Name: "no-verify", Usage: "skip the SHA-256 check of the data files"},
				},
				Action: func(c *cli.Context) error {
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
					mine := sh.Select(runs)
					fmt.Printf("shard %s: %d of %d runs\n", sh, len(mine), len(runs))
					if len(mine) == 0 {
						return nil
					}
					data, dev, err := dataAndDevice(c)
					if err != nil {
						return err
					}
					defer dev.Close()
					d := study.Open(c.String("out"))
					if _, err := d.Run(c.Context, mine, study.RunOptions{Data: data, Device: dev, Parallel: 1, Log: os.Stdout}); err != nil {
						return fmt.Errorf("sweep run: %w", err)
					}
					return nil
				},
			},
			{
				Name:  "submit",
				Usage: "write the sbatch job-array script for the grid and submit it (--slurm)",
				Flags: []cli.Flag{gridFlag, outFlag,
					&cli.BoolFlag{Name: "slurm", Usage: "submit to Slurm with sbatch (the only scheduler regcl writes for)"},
					&cli.BoolFlag{Name: "dry-run", Usage: "write the script, do not submit"},
					&cli.IntFlag{Name: "tasks", Usage: "array tasks (shards); default one per run"},
					&cli.IntFlag{Name: "throttle", Usage: "at most this many tasks at once (%K of --array)"},
					&cli.StringFlag{Name: "partition", Usage: "Slurm partition"},
					&cli.IntFlag{Name: "gpus-per-task", Usage: "GPUs per array task"},
					&cli.IntFlag{Name: "cpus-per-task", Usage: "CPUs per array task"},
					&cli.StringFlag{Name: "time", Value: "01:00:00", Usage: "time limit per task"},
					&cli.StringFlag{Name: "device", Value: "auto", Usage: "--device of the tasks"},
					&cli.StringFlag{Name: "data", Usage: "--data of the tasks"},
				},
				Action: func(c *cli.Context) error {
					if !c.Bool("slurm") {
						return fmt.Errorf("sweep submit: say --slurm (Slurm is the scheduler regcl submits to)")
					}
					runs, err := sweepGrid(c)
					if err != nil {
						return err
					}
					tasks := c.Int("tasks")
					if tasks == 0 {
						tasks = len(runs)
					}
					if tasks < 1 || tasks > len(runs) {
						return fmt.Errorf("sweep submit: --tasks must be in 1..%d (the runs of the grid), got %d", len(runs), tasks)
					}
					if c.Int("throttle") < 0 || c.Int("gpus-per-task") < 0 || c.Int("cpus-per-task") < 0 {
						return fmt.Errorf("sweep submit: --throttle, --gpus-per-task and --cpus-per-task must not be negative")
					}
					self, err := os.Executable()
					if err != nil {
						return fmt.Errorf("sweep submit: finding the regcl binary: %w", err)
					}
					script, err := sweep.WriteScript(sweep.SlurmOptions{Regcl: self, Grid: c.String("grid"), Out: c.String("out"),
						Tasks: tasks, Throttle: c.Int("throttle"), Partition: c.String("partition"),
						GPUsPerTask: c.Int("gpus-per-task"), CPUsPerTask: c.Int("cpus-per-task"), Time: c.String("time"),
						Device: c.String("device"), Data: c.String("data")})
					if err != nil {
						return fmt.Errorf("sweep submit: %w", err)
					}
					fmt.Printf("wrote %s (%d runs in %d array tasks)\n", script, len(runs), tasks)
					if c.Bool("dry-run") {
						return nil
					}
					id, err := sweep.Submit(script)
					if err != nil {
						return fmt.Errorf("sweep submit: %w", err)
					}
					fmt.Printf("submitted job %s\n", id)
					return nil
				},
			},
			{
				Name:  "status",
				Usage: "count the grid's runs that are done, running and missing in --out",
				Flags: []cli.Flag{gridFlag, outFlag},
				Action: func(c *cli.Context) error {
					runs, err := sweepGrid(c)
					if err != nil {
						return err
					}
					labels := map[string]string{}
					for i, l := range train.StudyLabels(runs) {
						labels[runs[i].ID()] = l
					}
					s := sweep.Count(runs, study.Open(c.String("out")))
					fmt.Printf("%d runs: %d done, %d running, %d missing\n", s.Total, s.Done, s.Running, s.Missing)
					for _, r := range s.RunningRuns {
						fmt.Printf("running  %s  %s seed %d\n", r.ID(), labels[r.ID()], r.Seed)
					}
					for _, r := range s.MissingRuns {
						fmt.Printf("missing  %s  %s seed %d\n", r.ID(), labels[r.ID()], r.Seed)
					}
					return nil
				},
			},
		},
	}
}
