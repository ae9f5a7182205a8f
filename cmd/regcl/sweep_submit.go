package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/regcl/regcl/internal/plural"
	"github.com/regcl/regcl/study"
	"github.com/regcl/regcl/sweep"
)

func sweepSubmitCommand() *cli.Command {
	return &cli.Command{
		Name:  "submit",
		Usage: "write the sbatch job-array script for the grid and submit it (--slurm)",
		Flags: flags([]cli.Flag{gridFlag(), maxRunsFlag(), outFlag("shared study folder the tasks write: one record per run"),
			&cli.BoolFlag{Name: "slurm", Usage: "submit to Slurm with sbatch (the only scheduler regcl writes for)"},
			&cli.BoolFlag{Name: "dry-run", Usage: "write the script, do not submit"},
			&cli.IntFlag{Name: "tasks", Usage: "array tasks (shards); default one per run"},
			&cli.IntFlag{Name: "throttle", Usage: "at most this many tasks at once (%K of --array)"},
			&cli.StringFlag{Name: "partition", Usage: "Slurm partition"},
			&cli.IntFlag{Name: "gpus-per-task", Usage: "GPUs per array task"},
			&cli.IntFlag{Name: "cpus-per-task", Usage: "CPUs per array task"},
			&cli.StringFlag{Name: "time", Value: "01:00:00", Usage: "time limit per task"},
			dataDirFlag(), // the tasks'
		}, laneFlags(), deviceFlags()), // the tasks'
		Action: func(c *cli.Context) error {
			if !c.Bool("slurm") {
				return fmt.Errorf("sweep submit: say --slurm (Slurm is the scheduler regcl submits to)")
			}
			if _, _, err := laneOptions(c); err != nil {
				return fmt.Errorf("sweep submit: %w", err)
			}
			// The tasks get --lanes and --parallel when they are given, and
			// their defaults otherwise.
			var taskLanes, taskParallel string
			if c.IsSet("lanes") {
				taskLanes = c.String("lanes")
			}
			if c.IsSet("parallel") {
				taskParallel = c.String("parallel")
			}
			runs, err := sweepGrid(c)
			if err != nil {
				return err
			}
			if err := study.Open(c.String("out")).CheckWritable(); err != nil {
				return fmt.Errorf("sweep submit: --out %s: %w", c.String("out"), err)
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
				Device: c.String("device"), Tuning: c.String("tuning"), Data: c.String("data"), Lanes: taskLanes, Parallel: taskParallel})
			if err != nil {
				return fmt.Errorf("sweep submit: %w", err)
			}
			fmt.Printf("wrote %s (%s in %s)\n", script, plural.Count(len(runs), "run", "runs"), plural.Count(tasks, "array task", "array tasks"))
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
	}
}
