package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/regcl/regcl/report"
	"github.com/regcl/regcl/study"
)

// reportCommand writes the summary CSVs, plots and report.md of a study from
// the run records already under its folder; it trains nothing.
func reportCommand() *cli.Command {
	return &cli.Command{
		Name:      "report",
		Usage:     "statistics, plots and report.md from the run records of a study (trains nothing)",
		UsageText: "regcl report                 # from results/runs/*.json (compare --out, train --output results/…) into results/\nregcl report --in study/",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "in", Value: "results", TakesFile: true, Usage: "study folder: reads IN/runs/*.json, writes the CSVs, IN/assets/*.png and IN/report.md"},
		},
		Action: func(c *cli.Context) error {
			d := study.Open(c.String("in"))
			if _, err := os.Stat(d.Path()); err == nil { // a missing folder: FromStudy says so
				if err := d.CheckWritable(); err != nil {
					return fmt.Errorf("report: --in %s: %w", d.Path(), err)
				}
			}
			sum, err := report.FromStudy(d)
			if err != nil {
				return fmt.Errorf("report: %w", err)
			}
			fmt.Print(sum.Table())
			fmt.Println()
			fmt.Println("wrote:")
			for _, f := range sum.Files {
				fmt.Println("  " + f)
			}
			return nil
		},
	}
}
