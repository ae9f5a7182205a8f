package sweep

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/template"

	"github.com/regcl/regcl/internal/atomicfile"
	"github.com/regcl/regcl/internal/readfile"
	"github.com/regcl/regcl/study"
)

// SlurmOptions are the sbatch settings of a sweep's job array.
type SlurmOptions struct {
	Regcl       string // the regcl binary the tasks run (absolute)
	Grid        string // the grid file, copied into Out so the job does not depend on it
	Out         string // shared output folder (absolute)
	Tasks       int    // array size: shards of the grid
	Throttle    int    // at most this many tasks at once (0: no limit)
	Partition   string
	GPUsPerTask int
	CPUsPerTask int
	Time        string // time limit, e.g. 01:00:00
	Device      string // --device of the tasks
	Tuning      string // --tuning of the tasks ("" for each node's own)
	Data        string // --data of the tasks ("" to look as usual)
	Lanes       string // --lanes of the tasks ("" for their default)
	Parallel    string // --parallel of the tasks ("" for their default)
	JobName     string
}

var scriptTmpl = template.Must(template.New("sbatch").Parse(`#!/bin/bash
# regcl sweep job array, written by ` + "`regcl sweep submit --slurm`" + `.
# Each array task trains one shard of the grid (regcl reads its slice from
# SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_MIN/MAX) into the shared folder
# {{.Out}}; runs already there are skipped, so the array can be resubmitted.
#SBATCH --job-name={{.JobName}}
#SBATCH --array=0-{{.Last}}{{if .Throttle}}%{{.Throttle}}{{end}}
#SBATCH --output={{.Log}}
{{- if .Partition}}
#SBATCH --partition={{.Partition}}
{{- end}}
{{- if .GPUsPerTask}}
#SBATCH --gpus-per-task={{.GPUsPerTask}}
{{- end}}
{{- if .CPUsPerTask}}
#SBATCH --cpus-per-task={{.CPUsPerTask}}
{{- end}}
{{- if .Time}}
#SBATCH --time={{.Time}}
{{- end}}
set -euo pipefail
exec {{.RegclQ}} sweep run --grid {{.GridQ}} --out {{.OutQ}} --device {{.DeviceQ}}{{if .Tuning}} --tuning {{.TuningQ}}{{end}}{{if .Data}} --data {{.DataQ}}{{end}}{{if .Lanes}} --lanes {{.LanesQ}}{{end}}{{if .Parallel}} --parallel {{.ParallelQ}}{{end}}
`))

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// WriteScript copies the grid into the study folder Out and writes the
// sbatch script beside it (where package study names them), returning the
// script's path.
func WriteScript(o SlurmOptions) (string, error) {
	if o.Tasks < 1 {
		return "", fmt.Errorf("slurm: the array needs at least one task")
	}
	for _, p := range []*string{&o.Regcl, &o.Out, &o.Grid} {
		a, err := filepath.Abs(*p)
		if err != nil {
			return "", err
		}
		*p = a
	}
	if strings.ContainsAny(o.Out, "\n%") {
		return "", fmt.Errorf("slurm: output folder %q has a newline or %%, which sbatch cannot take", o.Out)
	}
	g, err := readfile.Max(o.Grid, MaxGridFile, "a grid (a few lines)")
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(g)
	d := study.Open(o.Out)
	grid := d.GridCopy(hex.EncodeToString(sum[:])[:10])
	if err := atomicfile.Write(grid, g); err != nil {
		return "", err
	}
	if err := os.MkdirAll(d.SlurmDir(), 0o755); err != nil {
		return "", err
	}
	if o.JobName == "" {
		o.JobName = "regcl-sweep"
	}
	if o.Device == "" {
		o.Device = "auto"
	}
	var b bytes.Buffer
	err = scriptTmpl.Execute(&b, struct {
		SlurmOptions
		Last                                                                 int
		Log, RegclQ, GridQ, OutQ, DeviceQ, TuningQ, DataQ, LanesQ, ParallelQ string
	}{o, o.Tasks - 1, d.SlurmLogPattern(), shellQuote(o.Regcl), shellQuote(grid), shellQuote(o.Out), shellQuote(o.Device), shellQuote(o.Tuning), shellQuote(o.Data),
		shellQuote(o.Lanes), shellQuote(o.Parallel)})
	if err != nil {
		return "", err
	}
	path := d.SweepScript()
	if err := atomicfile.Write(path, b.Bytes()); err != nil {
		return "", err
	}
	return path, os.Chmod(path, 0o755)
}

// Submit runs `sbatch --parsable script` and returns the job id.
func Submit(script string) (string, error) {
	sb, err := exec.LookPath("sbatch")
	if err != nil {
		return "", fmt.Errorf("slurm: sbatch is not on PATH (is this a Slurm login node?): %w", err)
	}
	var out, errb bytes.Buffer
	cmd := exec.Command(sb, "--parsable", script)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("slurm: sbatch %s: %v: %s", script, err, strings.TrimSpace(errb.String()))
	}
	id, _, _ := strings.Cut(strings.TrimSpace(out.String()), ";") // "jobid;cluster"
	if id == "" {
		return "", fmt.Errorf("slurm: sbatch printed no job id")
	}
	return id, nil
}
