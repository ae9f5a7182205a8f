package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/regcl/regcl/device"
	"github.com/regcl/regcl/model"
	"github.com/regcl/regcl/report"
	"github.com/regcl/regcl/study"
	"github.com/regcl/regcl/train"
)

func compareCommand() *cli.Command {
	return &cli.Command{
		Name:  "compare",
		Usage: "the whole study: every method over several seeds, then statistics, plots and report.md",
		UsageText: "regcl compare                      # six methods × 3 seeds × 20 epochs into results/\n" +
			"regcl compare --models l1,dropout --seeds 5 --out study/",
		Flags: flags([]cli.Flag{
			&cli.StringFlag{Name: "models", Value: strings.Join(model.Methods, ","), Usage: "comma-separated methods to compare"},
			&cli.IntFlag{Name: "seeds", Value: 3, Usage: "runs per method, with seeds 1..K"},
			outFlag("study folder: run records, CSVs, plots and report.md"),
			&cli.IntFlag{Name: "parallel", Value: 0, DefaultText: "auto", Usage: "runs trained side by side on the device; auto: 2 on an OpenCL device, one a core on the gonum backend"},
		}, runFlags(), deviceFlags(), dataFlags()),
		Action: func(c *cli.Context) error {
			if err := noArgs(c, ""); err != nil {
				return fmt.Errorf("compare: %w", err)
			}
			if c.IsSet("parallel") && c.Int("parallel") < 1 {
				return fmt.Errorf("compare: --parallel must be at least 1, got %d", c.Int("parallel"))
			}
			cfgs, err := compareConfigs(c)
			if err != nil {
				return fmt.Errorf("compare: %w", err)
			}
			d := study.Open(c.String("out"))
			if err := d.CheckWritable(); err != nil {
				return fmt.Errorf("compare: --out %s: %w", d.Path(), err)
			}
			data, dev, err := dataAndDevice(c)
			if err != nil {
				return fmt.Errorf("compare: %w", err)
			}
			defer dev.Close()
			par := c.Int("parallel")
			if !c.IsSet("parallel") {
				par = device.SideBySide(dev)
			}
			if par > 1 && len(cfgs) > 1 {
				fmt.Printf("training up to %d runs side by side (--parallel)\n", par)
			}
			// Runs another process has claimed are waited for: the report
			// covers every run.
			if _, err := d.Run(c.Context, cfgs, study.RunOptions{Data: data, Device: dev, Parallel: par, WaitForClaimed: true,
				Log: os.Stdout, Live: term.IsTerminal(int(os.Stdout.Fd()))}); err != nil {
				return fmt.Errorf("compare: %w", err)
			}
			sum, err := report.FromStudy(d)
			if err != nil {
				return fmt.Errorf("compare: %w", err)
			}
			fmt.Print(sum.Table())
			fmt.Printf("wrote %s, %s, %s and %s/\n", d.ReportMD(), study.SummaryCSV, study.ComparisonCSV, study.AssetsDir)
			return nil
		},
	}
}

// compareConfigs are the runs that compare's flags describe: every method
// of --models for seeds 1..--seeds, with the run flags as overrides.
func compareConfigs(c *cli.Context) ([]train.Config, error) {
	o, err := runOverrides(c)
	if err != nil {
		return nil, err
	}
	return study.Configs(splitList(c.String("models")), c.Int("seeds"), o)
}
