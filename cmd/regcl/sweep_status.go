package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/regcl/regcl/internal/plural"
	"github.com/regcl/regcl/study"
	"github.com/regcl/regcl/sweep"
	"github.com/regcl/regcl/train"
)

func sweepStatusCommand() *cli.Command {
	return &cli.Command{
		Name:  "status",
		Usage: "count the grid's runs that are done, running and missing in --out",
		Flags: []cli.Flag{gridFlag(), maxRunsFlag(), outFlag("shared study folder of the sweep")},
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
			fmt.Printf("%s: %d done, %d running, %d missing\n", plural.Count(s.Total, "run", "runs"), s.Done, s.Running, s.Missing)
			for i, r := range s.RunningRuns {
				fmt.Printf("running  %s  %s seed %d  by %s\n", r.ID(), labels[r.ID()], r.Seed, s.Owners[i])
			}
			for _, r := range s.MissingRuns {
				fmt.Printf("missing  %s  %s seed %d\n", r.ID(), labels[r.ID()], r.Seed)
			}
			return nil
		},
	}
}
