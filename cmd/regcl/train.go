package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/regcl/regcl/study"
	"github.com/regcl/regcl/train"
)

func trainCommand() *cli.Command {
	return &cli.Command{
		Name:      "train",
		Usage:     "train one network and append its test result to the results CSV",
		UsageText: "regcl train --model batch_norm --epochs 20",
		Flags: flags([]cli.Flag{
			&cli.StringFlag{Name: "model", Value: "baseline", Usage: "baseline, l1, l2, dropout, batch_norm or elastic_net"},
			&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "seed of initialization, shuffling and dropout masks"},
			&cli.StringFlag{Name: "output", Value: "results/run_result.csv", Usage: "per-run CSV to append to (history and run record go next to it)"},
			&cli.StringFlag{Name: "save", Usage: "write the trained network to this model file (for regcl eval and predict)"},
			&cli.StringFlag{Name: "checkpoint-dir", Usage: "write a checkpoint here at the end of every epoch, keeping the last two"},
			&cli.StringFlag{Name: "resume", Usage: "continue from the newest valid checkpoint in this folder (its configuration wins over flags)"},
		}, runFlags(), deviceFlags(), dataFlags()),
		Action: func(c *cli.Context) error {
			cfg, err := trainConfig(c)
			if err != nil && c.String("resume") == "" {
				return fmt.Errorf("train: %w", err)
			}
			data, dev, err := dataAndDevice(c)
			if err != nil {
				return fmt.Errorf("train: %w", err)
			}
			defer dev.Close()
			if c.String("resume") == "" {
				printSplit([]train.Config{cfg}, data)
			}
			_, err = train.Run(c.Context, cfg, train.Options{
				Data: data, Device: dev, Log: os.Stdout,
				Live:  term.IsTerminal(int(os.Stdout.Fd())),
				Files: study.SingleRun(c.String("output")),
				Save:  c.String("save"), CheckpointDir: c.String("checkpoint-dir"), Resume: c.String("resume"),
				Warn: os.Stderr,
			})
			if err != nil {
				return fmt.Errorf("train: %w", err)
			}
			return nil
		},
	}
}

// trainConfig is the run that train's flags describe.
func trainConfig(c *cli.Context) (train.Config, error) {
	o, err := runOverrides(c)
	if err != nil {
		return train.Config{}, err
	}
	return train.NewConfig(c.String("model"), o, c.Uint64("seed"))
}
