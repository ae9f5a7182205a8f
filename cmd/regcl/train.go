package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/regcl/regcl/internal/writable"
	"github.com/regcl/regcl/study"
	"github.com/regcl/regcl/train"
)

func trainCommand() *cli.Command {
	return &cli.Command{
		Name:      "train",
		Usage:     "train one network and append its test result to the results CSV",
		UsageText: "regcl train --model batch_norm --epochs 20",
		Flags: flags([]cli.Flag{
			modelFlag(),
			&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "seed of initialization, shuffling and dropout masks"},
			&cli.StringFlag{Name: "output", Value: "results/run_result.csv", TakesFile: true, Usage: "per-run CSV to append to; its folder is a study folder: the run record goes into runs/ (for regcl report), the history beside the CSV"},
			&cli.StringFlag{Name: "save", TakesFile: true, Usage: "write the trained network to this model file (for regcl eval and predict)"},
			&cli.StringFlag{Name: "checkpoint-dir", TakesFile: true, Usage: "write a checkpoint here at the end of every epoch, keeping the last two (an empty or new folder, unless resuming)"},
			&cli.StringFlag{Name: "resume", TakesFile: true, Usage: "continue from a checkpoint file, or a folder's newest valid one; flags that contradict it are refused, --epochs may extend it, results go where the interrupted run's went"},
		}, runFlags(), deviceFlags(), dataFlags()),
		Action: func(c *cli.Context) error {
			p, err := planTrain(c)
			if err != nil {
				return fmt.Errorf("train: %w", err)
			}
			if p.nothing != "" {
				fmt.Println(p.nothing)
				return nil
			}
			if p.output != "" {
				// A study folder's claim: no other process (a compare on the
				// same folder, this command twice) trains the run meanwhile.
				cl, err := study.Open(filepath.Dir(p.output)).Claim(p.cfg)
				if err != nil {
					return fmt.Errorf("train: %w", err)
				}
				if !cl.Held {
					return fmt.Errorf("train: %s seed %d is being trained by %s (claim %s); wait for it, or give another --output folder",
						p.cfg.Label(), p.cfg.Seed, cl.Owner, study.Open(filepath.Dir(p.output)).ClaimPath(p.cfg))
				}
				defer cl.Release()
				if cl.Stale != nil {
					fmt.Fprintf(os.Stderr, "taking over the claim of %s seed %d from %s, which is gone\n", p.cfg.Label(), p.cfg.Seed, cl.Stale)
				}
			}
			data, dev, err := dataAndDevice(c)
			if err != nil {
				return fmt.Errorf("train: %w", err)
			}
			defer dev.Close()
			if p.ck == nil {
				printSplit([]train.Config{p.cfg}, data)
			}
			_, err = train.Run(c.Context, p.cfg, train.Options{
				Data: data, Device: dev, Log: os.Stdout,
				Live:  term.IsTerminal(int(os.Stdout.Fd())),
				Files: study.SingleRun(p.output),
				Save:  p.save, CheckpointDir: p.ckdir, Checkpoint: p.ck,
				ResumeHint: func(dir string) string { return resumeCommand(c, dir) },
				Warn:       os.Stderr,
			})
			if err != nil {
				return fmt.Errorf("train: %w", err)
			}
			p.finished()
			return nil
		},
	}
}

// finished removes the checkpoints a resumed run kept in its study folder's
// checkpoints/ (where an interrupted run leaves them, as compare's runs do),
// now that its record is written: they would only stand in the way of
// training the run again. A --checkpoint-dir of the user's own stays.
func (p *trainPlan) finished() {
	if p.ck == nil || p.output == "" {
		return
	}
	d := study.Open(filepath.Dir(p.output))
	dir, err1 := filepath.Abs(p.ckdir)
	parent, err2 := filepath.Abs(d.CheckpointsDir())
	if err1 == nil && err2 == nil && filepath.Dir(dir) == parent {
		os.RemoveAll(dir)
		os.Remove(parent) // only when empty
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

// trainPlan is what train will do, settled before any data is loaded.
type trainPlan struct {
	cfg              train.Config
	ck               *train.Checkpoint // the checkpoint resumed from, or nil
	output, save     string
	outputFrom       string // the flag output came from, for messages
	saveFrom         string
	ckdir, ckdirFrom string
	nothing          string // set when there is nothing to train: what to say
}

// planTrain settles train's run (a resumed one's from its checkpoint, whose
// configuration the flags may not contradict) and where it writes, and
// checks every path it will write: it refuses a bad one, naming the flag,
// the path and the reason, before any data is loaded.
func planTrain(c *cli.Context) (*trainPlan, error) {
	p := &trainPlan{output: c.String("output"), outputFrom: "--output", save: c.String("save"), saveFrom: "--save",
		ckdir: c.String("checkpoint-dir"), ckdirFrom: "--checkpoint-dir"}
	if r := c.String("resume"); r != "" {
		ck, err := train.OpenCheckpoint(r, func(s string) { fmt.Fprintln(os.Stderr, s) })
		if err != nil {
			return nil, err
		}
		if p.cfg, err = resumeConfig(c, ck); err != nil {
			return nil, fmt.Errorf("--resume %s: %w", r, err)
		}
		p.ck = ck
		// Results go where the interrupted run's went, unless a flag says.
		if o := ck.Outputs; o != nil {
			if !c.IsSet("output") {
				p.output, p.outputFrom = o.CSV, "--output (kept in the checkpoint)"
			}
			if !c.IsSet("save") && o.Save != "" {
				p.save, p.saveFrom = o.Save, "--save (kept in the checkpoint)"
			}
		}
		if p.ckdir == "" {
			p.ckdir, p.ckdirFrom = ck.Dir, "--resume"
		}
	} else {
		cfg, err := trainConfig(c)
		if err != nil {
			return nil, err
		}
		p.cfg = cfg
	}
	files := study.SingleRun(p.output)(p.cfg)
	if err := p.checkPaths(files); err != nil {
		return nil, err
	}
	if p.ck == nil {
		// A fresh run beside another run's checkpoints would prune them.
		if p.ckdir != "" {
			if all := train.Checkpoints(p.ckdir); len(all) > 0 {
				return nil, fmt.Errorf("--checkpoint-dir %s holds checkpoints already (newest %s); continue that run with: %s; or give an empty folder",
					p.ckdir, filepath.Base(all[0]), resumeCommand(c, p.ckdir))
			}
		} else if all := train.Checkpoints(files.Interrupted); len(all) > 0 {
			return nil, fmt.Errorf("%s seed %d was interrupted before, and its checkpoints are in %s; continue it with: %s; or remove that folder to start it again",
				p.cfg.Label(), p.cfg.Seed, files.Interrupted, resumeCommand(c, files.Interrupted))
		}
	}
	if p.ck != nil && p.ck.Epoch >= p.cfg.Epochs && p.ck.EpochStep == 0 && files.Record != "" {
		r, err := study.ReadRecord(files.Record)
		if err == nil && r.ID == p.cfg.ID() {
			csv := ""
			if files.CSV != "" {
				csv = ", and nothing is appended to " + relative(files.CSV)
			}
			p.nothing = fmt.Sprintf("nothing to train: %s has all %d epochs of %s seed %d, and the run's record is %s (test_accuracy %.4f)%s; give a larger --epochs to train on",
				p.ck.Path, p.cfg.Epochs, p.cfg.Label(), p.cfg.Seed, relative(files.Record), r.TestAccuracy, csv)
		} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	return p, nil
}

// checkPaths checks every path the run will write.
func (p *trainPlan) checkPaths(files train.Files) error {
	var errs []string
	check := func(from, path string, err error) {
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s %s: %v", from, path, err))
		}
	}
	if p.output != "" {
		check(p.outputFrom, p.output, writable.File(p.output, true))
		if len(errs) == 0 { // the record and the history beside it, and an interrupted run's checkpoints
			check(p.outputFrom, p.output, writable.File(files.Record, false))
			check(p.outputFrom, p.output, writable.File(files.History, false))
			if p.ckdir == "" {
				check(p.outputFrom, p.output, writable.Dir(files.Interrupted))
			}
		}
	} else if p.ckdir == "" {
		check(`--output ""`, "(an interrupted run's checkpoints go under the current folder)", writable.Dir(files.Interrupted))
	}
	if p.save != "" {
		check(p.saveFrom, p.save, writable.File(p.save, false))
	}
	if p.ckdir != "" {
		check(p.ckdirFrom, p.ckdir, writable.Dir(p.ckdir))
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

// resumeConfig is the configuration a run resumed from ck trains, refusing
// flags that contradict the checkpoint's (each named).
func resumeConfig(c *cli.Context, ck *train.Checkpoint) (train.Config, error) {
	o, err := runOverrides(c)
	if err != nil {
		return train.Config{}, err
	}
	preset := ""
	if c.IsSet("model") {
		preset = c.String("model")
	}
	var seed *uint64
	if c.IsSet("seed") {
		s := c.Uint64("seed")
		seed = &s
	}
	cfg, contra, err := train.ResumeConfig(ck, preset, o, seed)
	if err != nil {
		if o.Epochs != nil {
			return cfg, fmt.Errorf("--epochs %d: %w", *o.Epochs, err)
		}
		return cfg, err
	}
	if len(contra) > 0 {
		var s []string
		for _, k := range contra {
			s = append(s, fmt.Sprintf("--%s %s (the checkpoint's: %s)", strings.ReplaceAll(k.Key, "_", "-"), k.Given, k.Checkpoint))
		}
		return cfg, fmt.Errorf("the checkpoint %s is of %s seed %d, and %s contradict%s it; leave %s out to continue it (only --epochs may change, to train longer), or leave out --resume to start a new run",
			ck.Path, cfg.Label(), cfg.Seed, strings.Join(s, ", "), map[bool]string{true: "s", false: ""}[len(s) == 1],
			map[bool]string{true: "it", false: "them"}[len(s) == 1])
	}
	return cfg, nil
}

// resumeCommand is the command that continues the run whose checkpoints are
// in dir: regcl train --resume dir, with the flags given that choose the
// device and the data (its configuration and outputs are in the checkpoint).
func resumeCommand(c *cli.Context, dir string) string {
	args := []string{"regcl", "train", "--resume", shellQuote(dir)}
	for _, name := range []string{"device", "tuning", "data"} {
		if c.IsSet(name) {
			args = append(args, "--"+name, shellQuote(c.String(name)))
		}
	}
	if c.Bool("no-verify") {
		args = append(args, "--no-verify")
	}
	return strings.Join(args, " ")
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./:=,+-@%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// relative is path relative to the current folder when it lies below it
// (the paths a checkpoint keeps are absolute).
func relative(path string) string {
	if wd, err := os.Getwd(); err == nil && filepath.IsAbs(path) {
		if r, err := filepath.Rel(wd, path); err == nil && !strings.HasPrefix(r, "..") {
			return r
		}
	}
	return path
}
