package main

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/regcl/regcl/internal/plural"
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
		}, laneFlags(), runFlags(), deviceFlags(), dataFlags()),
		Action: func(c *cli.Context) error {
			lanesN, par, err := laneOptions(c)
			if err != nil {
				return fmt.Errorf("compare: %w", err)
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
			printSplit(cfgs, data)
			if par > 1 && len(cfgs) > 1 {
				fmt.Printf("training up to %d groups at once (--parallel)\n", par)
			}
			// Runs another process has claimed are waited for: the report
			// covers every run.
			if _, err := d.Run(c.Context, cfgs, study.RunOptions{Data: data, Device: dev, Lanes: lanesN, Parallel: par, WaitForClaimed: true,
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
// of --models for seeds 1..--seeds, with the run flags as overrides. A
// method named twice, or two methods that the overrides make one
// configuration (--l1 1e-3 gives baseline and l1 the same network), are
// refused: the study would train such a run once and show one row for two
// methods.
func compareConfigs(c *cli.Context) ([]train.Config, error) {
	o, err := runOverrides(c)
	if err != nil {
		return nil, err
	}
	models := splitList(c.String("models"))
	cfgs, err := study.Configs(models, c.Int("seeds"), o)
	if err != nil {
		return nil, err
	}
	for i, m := range models {
		if slices.Contains(models[:i], m) {
			return nil, fmt.Errorf("--models names %s twice", m)
		}
	}
	first := map[string]train.Config{} // a configuration, seed aside → its first run
	for _, cfg := range cfgs {
		if p, ok := first[cfg.Hash()]; ok && p.Preset != cfg.Preset {
			return nil, fmt.Errorf("%s and %s are the same run with these settings (%s, %s): a study of both would train it once and show one row; "+
				"leave one out of --models, or the setting that makes them alike", p.Preset, cfg.Preset, cfg.Model.Describe(), settingsText(cfg))
		}
		first[cfg.Hash()] = cfg
	}
	return cfgs, nil
}

// settingsText is a run's training settings in words, for a message.
func settingsText(c train.Config) string {
	return fmt.Sprintf("%s, batch %d, lr %g, validation split %g", plural.Count(c.Epochs, "epoch", "epochs"), c.BatchSize, c.LR, c.ValidationSplit)
}
