package main

import (
	"fmt"
	"os"
	"strconv"
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
			&cli.StringFlag{Name: "parallel", Value: "auto", DefaultText: "auto", Usage: "runs trained side by side on the device: a number ≥ 1, or auto (2 on an OpenCL device, one a core on the gonum backend)"},
		}, runFlags(), deviceFlags(), dataFlags()),
		Action: func(c *cli.Context) error {
			par, err := parallel(c.String("parallel"))
			if err != nil {
				return fmt.Errorf("compare: %w", err)
			}
			cfgs, err := compareConfigs(c)
			if err != nil {
				return fmt.Errorf("compare: %w", err)
			}
			data, dev, err := dataAndDevice(c)
			if err != nil {
				return fmt.Errorf("compare: %w", err)
			}
			defer dev.Close()
			if par == 0 { // auto
				par = device.SideBySide(dev)
			}
			if par > 1 && len(cfgs) > 1 {
				fmt.Printf("training up to %d runs side by side (--parallel)\n", par)
			}
			d := study.Open(c.String("out"))
			if _, err := d.Run(c.Context, cfgs, study.RunOptions{Data: data, Device: dev, Parallel: par,
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

// parallel reads --parallel: a number ≥ 1, or "auto" (returned as 0: the
// device decides, device.SideBySide).
func parallel(s string) (int, error) {
	if s == "auto" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("--parallel %s: want a number ≥ 1, or auto", s)
	}
	return n, nil
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
