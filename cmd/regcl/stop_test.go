package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/regcl/regcl/model"
)

// stopCfg is a network large enough that a step takes the device long
// enough to matter (1024·1024 hidden: about 2 GFLOP a step), on 3,000
// images (21 steps an epoch).
var stopCfg = []string{"--model", "baseline", "--hidden", "1024,1024", "--train-size", "3000", "--epochs", "3", "--seed", "4"}

// TestStopPromptly sends SIGTERM to an OpenCL training run in the middle of
// an epoch: it must stop there (the step it names is before the epoch's
// last: what "after the current step" means, whatever the machine's load)
// and exit within two seconds, plus the steps on the device (at most two of
// a fast device) and the checkpoint's write (its time measured on this
// machine, now, by writing a copy of the same size): the stop's fixed work
// (the checkpoint, the history, releasing the device) took 0.7 s on a
// 2-core VM alone and 1.1 s there with CI's other packages running beside
// it, against a bound of 1 s then. It must have written a checkpoint and
// the history, and say so, with exit status 143; a second signal, after
// the window of one request, exits at once with status 1, without them,
// saying so.
func TestStopPromptly(t *testing.T) {
	needOpenCL(t)
	data := realMNISTDir(t)
	root := t.TempDir()
	dir := filepath.Join(root, "D")
	p := startRegcl(t, root, nil, append(append([]string{"train"}, stopCfg...),
		"--device", "opencl", "--data", data, "--checkpoint-dir", dir, "--output", filepath.Join(root, "O", "r.csv"))...)
	l, ok := p.waitLine("Epoch ")
	if !ok {
		p.wait()
		t.Fatalf("the run ended before its first epoch line:\n%s", p.stderr.String())
	}
	_, _, secs := epochInfo(t, l.text)
	time.Sleep(time.Duration(secs * 0.5 * float64(time.Second))) // in the middle of epoch 2
	if p.exited() {
		t.Fatal("the run finished before the signal")
	}
	sent := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exit := p.wait()
	took := time.Since(sent)
	stderr := p.stderr.String()
	step := secs / 21
	if exit != 143 || !strings.Contains(stderr, "stopping after the current step") || !strings.Contains(stderr, "training interrupted at epoch 2") {
		t.Errorf("exit %d; stderr:\n%s", exit, stderr)
	}
	m := interruptMsg.FindStringSubmatch(strings.TrimSpace(stderr))
	if m == nil {
		t.Fatalf("stderr does not end saying where the checkpoint and the history are:\n%s", stderr)
	}
	if at, of := atoi(t, m[2]), atoi(t, m[3]); at >= of {
		t.Errorf("stopped at step %d of %d: the epoch ran out, rather than stopping after the current step", at, of)
	}
	save := writeTime(t, m[4])
	t.Logf("SIGTERM in epoch 2 (a step takes %.0f ms, a write of the checkpoint's size %v): exited %d after %v",
		1e3*step, save.Round(time.Millisecond), exit, took.Round(time.Millisecond))
	if bound := 2*time.Second + time.Duration(2*step*float64(time.Second)) + save; took > bound {
		t.Errorf("the run took %v to stop after SIGTERM, more than %v (two seconds, two steps and the checkpoint's write)", took, bound)
	}
	if _, err := model.ReadFile(m[4]); err != nil {
		t.Errorf("the checkpoint it names: %v", err)
	}
	if _, err := os.Stat(m[5]); err != nil {
		t.Errorf("the history it names: %v", err)
	}

	// A second signal while the checkpoint is being written (each atomic
	// write pauses for 5 s here): out at once, nothing written, saying so.
	dir2 := filepath.Join(root, "D2")
	p = startRegcl(t, root, []string{"REGCL_TEST_WRITE_DELAY=5s"}, append(append([]string{"train"}, stopCfg...),
		"--device", "opencl", "--data", data, "--checkpoint-dir", dir2, "--output", filepath.Join(root, "O2", "r.csv"))...)
	// The first epoch's checkpoint is written with the delay too: wait for
	// epoch 2 to start before the first signal.
	if _, ok := p.waitLine("Epoch "); !ok {
		p.wait()
		t.Fatalf("the second run ended before its first epoch line:\n%s", p.stderr.String())
	}
	time.Sleep(6 * time.Second)
	p.cmd.Process.Signal(syscall.SIGTERM)
	time.Sleep(sameRequest + 500*time.Millisecond) // into the checkpoint's write, past the window of one request
	sent = time.Now()
	p.cmd.Process.Signal(syscall.SIGTERM)
	exit = p.wait()
	took = time.Since(sent)
	stderr = p.stderr.String()
	t.Logf("a second SIGTERM: exited %d after %v", exit, took.Round(time.Millisecond))
	if exit != 1 || !strings.Contains(stderr, "exiting now, without a checkpoint") || took > time.Second {
		t.Errorf("after a second signal: exit %d after %v; stderr:\n%s", exit, took, stderr)
	}
	if n := len(checkpoints(t, dir2).files); n != 1 {
		t.Errorf("%d checkpoints in the folder, want only epoch 1's (the interrupted write must not land)", n)
	}
}

// writeTime is how long writing a copy of the file at path (beside it) and
// syncing it to disk takes now: the I/O part of saving it.
func writeTime(t *testing.T, path string) time.Duration {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cp := path + ".timing"
	defer os.Remove(cp)
	start := time.Now()
	f, err := os.Create(cp)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return time.Since(start)
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
