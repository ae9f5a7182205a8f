package main

import (
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// walkCommands calls f for every command of regcl, subcommands included,
// with its path ("sweep run").
func walkCommands(f func(path string, c *cli.Command)) {
	var walk func(parent string, cmds []*cli.Command)
	walk = func(parent string, cmds []*cli.Command) {
		for _, c := range cmds {
			p := strings.TrimSpace(parent + " " + c.Name)
			f(p, c)
			walk(p, c.Subcommands)
		}
	}
	walk("", newApp().Commands)
}

// TestFlagsAcceptTheirShownDefaults: a default that help shows as a value
// (one word: "auto", "128", "results") is one the flag accepts; a default
// that the help describes in words ("the preset's") is not a value and is
// left out. Each flag is given its shown default alone, through the real
// flag parser, with the command's action replaced.
func TestFlagsAcceptTheirShownDefaults(t *testing.T) {
	n := 0
	walkCommands(func(path string, cmd *cli.Command) {
		for _, f := range cmd.Flags {
			df, ok := f.(cli.DocGenerationFlag)
			if !ok || !df.TakesValue() {
				continue
			}
			shown := df.GetDefaultText()
			if shown == "" {
				shown = df.GetValue()
			}
			shown = strings.Trim(shown, `"`)
			if shown == "" || strings.ContainsAny(shown, " ") {
				continue
			}
			n++
			name := f.Names()[0]
			// A fresh command each time: flags keep their state.
			var fresh *cli.Command
			walkOf(path, func(c *cli.Command) { fresh = c })
			fresh.Action = func(*cli.Context) error { return nil }
			fresh.Subcommands = nil
			app := &cli.App{Name: "regcl", Commands: []*cli.Command{fresh}, ExitErrHandler: func(*cli.Context, error) {}}
			args := append([]string{"regcl", fresh.Name}, "--"+name, shown)
			if err := app.Run(args); err != nil {
				t.Errorf("regcl %s --%s %s: help shows %q as the default, but the flag refuses it: %v", path, name, shown, shown, err)
			}
		}
	})
	if n < 20 {
		t.Errorf("only %d flags with a shown default were tried", n)
	}
}

// walkOf calls f with a fresh copy of the command at path.
func walkOf(path string, f func(*cli.Command)) {
	walkCommands(func(p string, c *cli.Command) {
		if p == path {
			f(c)
		}
	})
}

// TestParallelAuto: --parallel takes what its help shows, auto (1) or a
// number from 1, and nothing else.
func TestParallelAuto(t *testing.T) {
	for s, want := range map[string]int{"auto": 1, "1": 1, "6": 6} {
		if n, err := parallel(s); err != nil || n != want {
			t.Errorf("parallel(%q) = %d, %v; want %d", s, n, err, want)
		}
	}
	for _, s := range []string{"0", "-1", "two", "", "1.5", "AUTO"} {
		if _, err := parallel(s); err == nil || !strings.Contains(err.Error(), "want a number ≥ 1, or auto") {
			t.Errorf("parallel(%q): %v", s, err)
		}
	}
}

// TestLanes: --lanes takes auto or a number in 1..device.MaxLanes, and
// refuses anything else with a message that says what is wrong with it, on
// every command that has the flag, before any data is loaded.
func TestLanes(t *testing.T) {
	for s, want := range map[string]int{"auto": 0, "1": 1, "18": 18, "1024": 1024} {
		if n, err := lanes(s); err != nil || n != want {
			t.Errorf("lanes(%q) = %d, %v; want %d", s, n, err, want)
		}
	}
	bad := []struct{ s, msg string }{
		{"two", `--lanes "two": not a number; want a number in 1..1024, or auto`},
		{"", `--lanes "": not a number`},
		{"1.5", `--lanes "1.5": not a number`},
		{"AUTO", `--lanes "AUTO": not a number`},
		{"0", "--lanes 0: want at least 1 (1 trains one run at a time), or auto"},
		{"-3", "--lanes -3: want at least 1"},
		{"1025", "--lanes 1025: at most 1024 lanes train together"},
		{"99999999999999999999", `--lanes "99999999999999999999": not a number`},
	}
	for _, c := range bad {
		if _, err := lanes(c.s); err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("lanes(%q): %v; want %q", c.s, err, c.msg)
		}
	}
	dir := t.TempDir()
	grid := filepath.Join(dir, "two.yaml")
	if err := os.WriteFile(grid, []byte("model: baseline\nseeds: 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "no-data")
	for _, cmd := range [][]string{
		{"compare", "--out", filepath.Join(dir, "c"), "--data", missing},
		{"sweep", "run", "--grid", grid, "--shard", "1/1", "--out", filepath.Join(dir, "s"), "--data", missing},
		{"sweep", "submit", "--slurm", "--dry-run", "--grid", grid, "--out", filepath.Join(dir, "s")},
	} {
		for _, c := range bad {
			args := append(append([]string{}, cmd...), "--lanes", c.s)
			if err := runApp(args...); err == nil || !strings.Contains(err.Error(), c.msg) {
				t.Errorf("regcl %s: %v; want %q", strings.Join(args, " "), err, c.msg)
			}
		}
		for _, ok := range []string{"1", "1024", "auto"} { // refused later, for want of the data, or done
			args := append(append([]string{}, cmd...), "--lanes", ok)
			if err := runApp(args...); err != nil && strings.Contains(err.Error(), "--lanes") {
				t.Errorf("regcl %s: refused: %v", strings.Join(args, " "), err)
			}
		}
		args := append(append([]string{}, cmd...), "--parallel", "0")
		if err := runApp(args...); err == nil || !strings.Contains(err.Error(), "--parallel 0: want a number ≥ 1, or auto") {
			t.Errorf("regcl %s: %v", strings.Join(args, " "), err)
		}
	}
	// tune times its candidates at --lanes: the same bounds, checked before
	// the device is opened (opencl:9:9 does not exist).
	for _, c := range bad {
		args := []string{"tune", "--device", "opencl:9:9", "--lanes", c.s}
		if err := runApp(args...); err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("regcl %s: %v; want %q", strings.Join(args, " "), err, c.msg)
		}
	}
	for _, ok := range []string{"1", "1024", "auto"} {
		args := []string{"tune", "--device", "opencl:9:9", "--lanes", ok}
		if err := runApp(args...); err == nil || strings.Contains(err.Error(), "--lanes") {
			t.Errorf("regcl %s: %v; want the device refused, not --lanes", strings.Join(args, " "), err)
		}
	}
	if n, err := studyGroupLanes(); err != nil || n != 15 {
		t.Errorf("studyGroupLanes() = %d, %v; want 15 (the default study's runs without BatchNorm: 5 methods × 3 seeds)", n, err)
	}
	// sweep submit hands --lanes and --parallel to its tasks.
	out := filepath.Join(dir, "sub")
	if err := runApp("sweep", "submit", "--slurm", "--dry-run", "--grid", grid, "--out", out, "--lanes", "8", "--parallel", "2"); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(out, "sweep", "sweep.sbatch"))
	if err != nil || !strings.Contains(string(b), " --lanes '8' --parallel '2'") {
		t.Errorf("the job script does not pass --lanes 8 --parallel 2 on (%v):\n%s", err, b)
	}
}

// TestPresetDefaultsSaySo: a setting whose default the preset decides
// (--l1 is 0 for baseline and 1e-4 for l1) says so in train's and compare's
// help, and shows no number or false as its default.
func TestPresetDefaultsSaySo(t *testing.T) {
	for _, cmd := range []string{"train", "compare"} {
		stdout, stderr, exit := runRegcl(t, nil, cmd, "--help")
		if exit != 0 {
			t.Fatalf("regcl %s --help: exit %d\n%s", cmd, exit, stderr)
		}
		for _, flag := range []string{"--l1 value", "--l2 value", "--dropout value", "--batch-norm", "--hidden value"} {
			var line string
			for _, l := range strings.Split(stdout, "\n") {
				if strings.HasPrefix(strings.TrimSpace(l), flag+" ") {
					line = l
				}
			}
			if !strings.HasSuffix(line, "(default: the preset's)") {
				t.Errorf("regcl %s --help: %s: %q, want it to end in (default: the preset's)", cmd, flag, strings.TrimSpace(line))
			}
		}
		if strings.Contains(stdout, "kernels (default: 0)") || strings.Contains(stdout, "removes it) (default: false)") {
			t.Errorf("regcl %s --help shows a preset's setting with a fixed default:\n%s", cmd, stdout)
		}
	}
}

// TestHelpAndVersion: `regcl help`, `regcl help COMMAND` and `regcl
// --version` work and exit 0.
func TestHelpAndVersion(t *testing.T) {
	stdout, stderr, exit := runRegcl(t, nil, "help")
	if exit != 0 || !strings.Contains(stdout, "COMMANDS:") || !strings.Contains(stdout, "compare") {
		t.Errorf("regcl help: exit %d\n%s\n%s", exit, stdout, stderr)
	}
	stdout, stderr, exit = runRegcl(t, nil, "help", "train")
	if exit != 0 || !strings.Contains(stdout, "regcl train - train one network") || !strings.Contains(stdout, "--epochs value") {
		t.Errorf("regcl help train: exit %d\n%s\n%s", exit, stdout, stderr)
	}
	stdout, stderr, exit = runRegcl(t, nil, "--version")
	if bi, ok := debug.ReadBuildInfo(); exit != 0 || !ok || stdout != "regcl version "+versionOf(bi)+"\n" {
		t.Errorf("regcl --version: exit %d\n%q\n%s", exit, stdout, stderr)
	}
	t.Logf("%s", strings.TrimSpace(stdout))
}

// TestVersionOf: the version comes from the build information: the main
// module's version when it has one, else the commit stamp, else "devel".
func TestVersionOf(t *testing.T) {
	stamp := []debug.BuildSetting{{Key: "vcs", Value: "git"},
		{Key: "vcs.revision", Value: "25ab2aa1b2c3d4e5f60718293a4b5c6d7e8f9012"},
		{Key: "vcs.time", Value: "2026-12-04T10:15:00Z"}, {Key: "vcs.modified", Value: "true"}}
	for _, c := range []struct {
		main     string
		settings []debug.BuildSetting
		want     string
	}{
		{"v1.2.0", stamp, "v1.2.0, go1.26.8"},
		{"v0.0.0-20261204101500-25ab2aa1b2c3+dirty", stamp, "v0.0.0-20261204101500-25ab2aa1b2c3+dirty, go1.26.8"},
		{"(devel)", stamp, "devel (commit 25ab2aa1b2c3, 2026-12-04T10:15:00Z, modified), go1.26.8"},
		{"(devel)", stamp[:2], "devel (commit 25ab2aa1b2c3), go1.26.8"},
		{"(devel)", nil, "devel, go1.26.8"},
		{"", nil, "devel, go1.26.8"},
	} {
		bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/regcl/regcl", Version: c.main}, Settings: c.settings}
		if got := versionOf(bi); got != c.want {
			t.Errorf("main version %q with %d settings: %q, want %q", c.main, len(c.settings), got, c.want)
		}
	}
}

// runApp runs regcl in this process with args and returns its error; what
// it prints on stdout is dropped.
func runApp(args ...string) error {
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer null.Close()
	stdout := os.Stdout
	os.Stdout = null
	defer func() { os.Stdout = stdout }()
	return newApp().Run(append([]string{"regcl"}, args...))
}

// TestCommandBounds: the bounds on the flags of tune, sweep, sweep submit,
// bench and plan, each from both sides: the value at the bound passes the check
// (the command then fails later, for want of a device or a file, with
// another message) and the value just past it is refused with a message
// naming the flag.
func TestCommandBounds(t *testing.T) {
	dir := t.TempDir()
	two := filepath.Join(dir, "two.yaml")
	if err := os.WriteFile(two, []byte("model: baseline\nseeds: 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.json")
	for _, c := range []struct {
		args    []string
		refused string // the message of a refusal, "" when the bound lets it pass
		flag    string // what an accepted value must not be refused for
	}{
		{[]string{"tune", "--device", "cpu", "--budget", "5s"}, "", "--budget"},
		{[]string{"tune", "--device", "cpu", "--budget", "4.999s"}, "--budget must be between 5s and 24h, got 4.999s", ""},
		{[]string{"tune", "--device", "cpu", "--budget", "24h"}, "", "--budget"},
		{[]string{"tune", "--device", "cpu", "--budget", "24h0m0.001s"}, "--budget must be between 5s and 24h, got 24h0m0.001s", ""},
		{[]string{"tune", "--device", "cpu", "--batch-size", "1"}, "", "--batch-size"},
		{[]string{"tune", "--device", "cpu", "--batch-size", "0"}, "--batch-size must be in 1..65536, got 0", ""},
		{[]string{"tune", "--device", "cpu", "--batch-size", "65536"}, "", "--batch-size"},
		{[]string{"tune", "--device", "cpu", "--batch-size", "65537"}, "--batch-size must be in 1..65536, got 65537", ""},
		{[]string{"sweep", "--grid", two, "--max-runs", "2"}, "", "allowed"},
		{[]string{"sweep", "--grid", two, "--max-runs", "1"}, "2 runs (1 model × 2 seeds), more than the 1 allowed", ""},
		{[]string{"sweep", "--grid", two, "--max-runs", "0"}, "--max-runs must be at least 1, got 0", ""},
		{[]string{"sweep", "submit", "--slurm", "--dry-run", "--grid", two, "--out", filepath.Join(dir, "out"), "--tasks", "2"}, "", "--tasks"},
		{[]string{"sweep", "submit", "--slurm", "--dry-run", "--grid", two, "--out", filepath.Join(dir, "out"), "--tasks", "3"}, "--tasks must be in 1..2 (the runs of the grid), got 3", ""},
		{[]string{"sweep", "submit", "--slurm", "--dry-run", "--grid", two, "--out", filepath.Join(dir, "out"), "--tasks", "-1"}, "--tasks must be in 1..2 (the runs of the grid), got -1", ""},
		{[]string{"bench", "--epochs", "1", "--late-epoch", "0", "--against", missing}, "", "--epochs"},
		{[]string{"bench", "--epochs", "0"}, "--epochs must be in 1..100, got 0", ""},
		{[]string{"bench", "--epochs", "100", "--late-epoch", "0", "--against", missing}, "", "--epochs"},
		{[]string{"bench", "--epochs", "101"}, "--epochs must be in 1..100, got 101", ""},
		{[]string{"bench", "--epochs", "3", "--late-epoch", "7", "--against", missing}, "", "--late-epoch"},
		{[]string{"bench", "--epochs", "3", "--late-epoch", "6"}, "--late-epoch must be 0 or in 7..1000", ""},
		{[]string{"bench", "--epochs", "3", "--late-epoch", "1000", "--against", missing}, "", "--late-epoch"},
		{[]string{"bench", "--epochs", "3", "--late-epoch", "1001"}, "--late-epoch must be 0 or in 7..1000", ""},
		{[]string{"bench", "--lanes", "1", "--late-epoch", "0", "--against", missing}, "", "--lanes"},
		{[]string{"bench", "--lanes", "0", "--against", missing}, "--lanes must be in 1..1024, got 0", ""}, // --against: a mutant that lets it by fails at once
		{[]string{"bench", "--lanes", "1024", "--late-epoch", "0", "--against", missing}, "", "--lanes"},
		{[]string{"bench", "--lanes", "1025", "--against", missing}, "--lanes must be in 1..1024, got 1025", ""},
		{[]string{"plan", "--lanes", "1", "--describe", missing}, "", "--lanes"},
		{[]string{"plan", "--lanes", "0", "--describe", missing}, "--lanes must be in 1..1024, got 0", ""},
		{[]string{"plan", "--lanes", "1024", "--describe", missing}, "", "--lanes"},
		{[]string{"plan", "--lanes", "1025", "--describe", missing}, "--lanes must be in 1..1024, got 1025", ""},
	} {
		err := runApp(c.args...)
		line := strings.Join(c.args, " ")
		switch {
		case c.refused != "" && (err == nil || !strings.Contains(err.Error(), c.refused)):
			t.Errorf("regcl %s: %v; want a refusal with %q", line, err, c.refused)
		case c.refused == "" && err != nil && strings.Contains(err.Error(), c.flag):
			t.Errorf("regcl %s: refused at the bound: %v", line, err)
		}
	}
}
