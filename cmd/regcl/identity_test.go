package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/regcl/regcl/study"
	"github.com/regcl/regcl/train"
)

// parsed runs one command of regcl in-process with its real flags, but with
// an action that only turns the flags into configurations (build, the
// action's own first step), and returns them.
func parsed(t *testing.T, cmd *cli.Command, build func(*cli.Context) ([]train.Config, error), args ...string) []train.Config {
	t.Helper()
	var out []train.Config
	cmd.Action = func(c *cli.Context) error {
		var err error
		out, err = build(c)
		return err
	}
	cmd.Subcommands = nil
	app := &cli.App{Name: "regcl", Commands: []*cli.Command{cmd}, ExitErrHandler: func(*cli.Context, error) {}}
	if err := app.Run(append([]string{"regcl", cmd.Name}, args...)); err != nil {
		t.Fatalf("regcl %s %s: %v", cmd.Name, strings.Join(args, " "), err)
	}
	return out
}

const oneIDGrid = "model: l1\nl1: 1.0e-4\ntrain_size: 1000\nepochs: 1\nseeds: [2]\n"

// TestOneIDAcrossCommands: the same run reached through `regcl train`
// (whose --l1 equals the preset's λ1), `regcl compare` and a sweep grid has
// one ID and one label, and one folder holds it once: a compare's record
// makes the sweep's run done, and the single run's record carries the same ID.
func TestOneIDAcrossCommands(t *testing.T) {
	fromTrain := parsed(t, trainCommand(), func(c *cli.Context) ([]train.Config, error) {
		cfg, err := trainConfig(c)
		return []train.Config{cfg}, err
	}, "--model", "l1", "--l1", "1e-4", "--train-size", "1000", "--epochs", "1", "--seed", "2")
	fromCompare := parsed(t, compareCommand(), compareConfigs, "--models", "l1", "--seeds", "2", "--epochs", "1", "--train-size", "1000")[1]
	grid := filepath.Join(t.TempDir(), "grid.yaml")
	if err := os.WriteFile(grid, []byte(oneIDGrid), 0o644); err != nil {
		t.Fatal(err)
	}
	fromSweep := parsed(t, sweepCommand(), sweepGrid, "--grid", grid)
	if len(fromTrain) != 1 || len(fromSweep) != 1 {
		t.Fatalf("%d and %d runs, want one each", len(fromTrain), len(fromSweep))
	}
	want := fromCompare
	t.Logf("ID %s, label %s", want.ID(), want.Label())
	if want.Label() != "l1+epochs=1+train_size=1000" || train.StudyLabels([]train.Config{want})[0] != "l1" {
		t.Errorf("label %s", want.Label())
	}
	for name, c := range map[string]train.Config{"train": fromTrain[0], "sweep": fromSweep[0]} {
		if c.ID() != want.ID() || c.Label() != want.Label() || c.Method != want.Method {
			t.Errorf("%s: ID %s, label %s; compare: ID %s, label %s", name, c.ID(), c.Label(), want.ID(), want.Label())
		}
	}

	// Through the commands themselves, into one folder.
	data := realMNISTDir(t)
	out := t.TempDir()
	stdout, stderr, exit := runRegcl(t, nil, "compare", "--models", "l1", "--seeds", "2", "--epochs", "1", "--train-size", "1000",
		"--device", "cpu", "--data", data, "--out", out)
	if exit != 0 {
		t.Fatalf("compare exit %d\n%s\n%s", exit, stdout, stderr)
	}
	if _, err := os.Stat(filepath.Join(out, study.RecordsDir, want.ID()+".json")); err != nil {
		t.Errorf("compare wrote no record under the ID: %v", err)
	}
	if !strings.Contains(stdout, "\nl1 ") {
		t.Errorf("compare's table does not show the method l1:\n%s", stdout)
	}
	stdout, stderr, exit = runRegcl(t, nil, "sweep", "status", "--grid", grid, "--out", out)
	if exit != 0 || !strings.Contains(stdout, "1 run: 1 done, 0 running, 0 missing") {
		t.Errorf("sweep status after the compare: exit %d\n%s\n%s", exit, stdout, stderr)
	}
	stdout, stderr, exit = runRegcl(t, nil, "sweep", "run", "--grid", grid, "--out", out, "--shard", "0/1", "--device", "cpu", "--data", data)
	if exit != 0 || !strings.Contains(stdout, "shard 0/1: 1 of the grid's 1 run\n") || !strings.Contains(stdout, "1 of 1 run already finished") || !strings.Contains(stdout, "skipping it\n") || strings.Contains(stdout, "Epoch ") {
		t.Errorf("sweep run after the compare trained again: exit %d\n%s\n%s", exit, stdout, stderr)
	}
	stdout, stderr, exit = runRegcl(t, nil, "sweep", "--grid", grid)
	if exit != 0 || !strings.HasPrefix(stdout, want.ID()+"\tl1\t") || !strings.HasSuffix(stdout, "\n1 run\n") {
		t.Errorf("sweep lists: exit %d\n%s\n%s", exit, stdout, stderr)
	}
	single := filepath.Join(t.TempDir(), "r.csv")
	stdout, stderr, exit = runRegcl(t, nil, "train", "--model", "l1", "--l1", "0.0001", "--train-size", "1000", "--epochs", "1", "--seed", "2",
		"--device", "cpu", "--data", data, "--output", single)
	if exit != 0 {
		t.Fatalf("train exit %d\n%s\n%s", exit, stdout, stderr)
	}
	b, err := os.ReadFile(filepath.Join(filepath.Dir(single), study.RecordsDir, want.ID()+".json"))
	if err != nil {
		t.Fatalf("train wrote no record under the ID: %v", err)
	}
	var r train.Result
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	if r.ID != want.ID() || r.Config.Preset != "l1" || r.Config.Method != want.Label() || r.Config.Overrides.Label("l1") != want.Label() {
		t.Errorf("the single run's record: id %s preset %q method %q overrides %s", r.ID, r.Config.Preset, r.Config.Method, r.Config.Overrides.Label(""))
	}
	rows, err := csvRows(single)
	if err != nil || len(rows) != 1 || rows[0][0] != "l1" {
		t.Errorf("the results CSV: %q, %v; want one row of model l1", rows, err)
	}
}

// TestSharedFlags: --device, --data and --no-verify mean one thing with one
// default wherever they appear (predict's device included: auto). `regcl
// tune`, which searches OpenCL kernels' parameters and has no CPU path, is
// left out.
func TestSharedFlags(t *testing.T) {
	seen := map[string]string{} // flag → its description, from the first command that has it
	var walk func(path string, cmds []*cli.Command)
	walk = func(path string, cmds []*cli.Command) {
		for _, c := range cmds {
			name := strings.TrimSpace(path + " " + c.Name)
			if name == "tune" {
				continue
			}
			for _, f := range c.Flags {
				var desc string
				switch f := f.(type) {
				case *cli.StringFlag:
					desc = fmt.Sprintf("%q %q", f.Value, f.Usage)
				case *cli.BoolFlag:
					desc = fmt.Sprintf("%v %q", f.Value, f.Usage)
				default:
					continue
				}
				for _, n := range f.Names() {
					if n != "device" && n != "data" && n != "no-verify" {
						continue
					}
					if n == "device" && !strings.HasPrefix(desc, `"auto"`) {
						t.Errorf("%s: --device defaults to %s, want auto", name, desc)
					}
					if prev, ok := seen[n]; !ok {
						seen[n] = desc
					} else if prev != desc {
						t.Errorf("%s: --%s is %s, elsewhere %s", name, n, desc, prev)
					}
				}
			}
			walk(name, c.Subcommands)
		}
	}
	walk("", newApp().Commands)
	if len(seen) != 3 {
		t.Errorf("flags seen: %v", seen)
	}
}

// TestCompareKeepsMethodsApart: overrides that leave the methods distinct
// are taken (--l1 1e-3 with l1 and dropout: two networks); those that make
// two methods one run are refused, naming both (--l1 1e-3 with baseline and
// l1; --l1 0 with l2 and elastic_net), as is a method named twice.
func TestCompareKeepsMethodsApart(t *testing.T) {
	for _, args := range [][]string{
		{"--models", "l1,dropout", "--l1", "1e-3"},
		{"--models", "baseline,l1", "--l2", "1e-4"},
		{"--models", "baseline,l1,l2,dropout,batch_norm,elastic_net"},
	} {
		cfgs := parsed(t, compareCommand(), compareConfigs, append(args, "--seeds", "2")...)
		ids := map[string]bool{}
		for _, c := range cfgs {
			ids[c.ID()] = true
		}
		if len(ids) != len(cfgs) {
			t.Errorf("compare %s: %d runs, %d distinct", strings.Join(args, " "), len(cfgs), len(ids))
		}
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--models", "baseline,l1", "--l1", "1e-3"}, "baseline and l1 are the same run"},
		{[]string{"--models", "l1,baseline", "--l1", "0"}, "l1 and baseline are the same run"},
		{[]string{"--models", "l2,elastic_net", "--l1", "0"}, "l2 and elastic_net are the same run"},
		{[]string{"--models", "dropout,baseline", "--dropout", "0"}, "dropout and baseline are the same run"},
		{[]string{"--models", "l1,l1"}, "--models names l1 twice"},
	} {
		cmd := compareCommand()
		cmd.Action = func(ctx *cli.Context) error { _, err := compareConfigs(ctx); return err }
		app := &cli.App{Name: "regcl", Commands: []*cli.Command{cmd}, ExitErrHandler: func(*cli.Context, error) {}}
		err := app.Run(append([]string{"regcl", "compare"}, c.args...))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("compare %s: %v; want an error with %q", strings.Join(c.args, " "), err, c.want)
		}
	}
}
