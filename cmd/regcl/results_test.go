package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestTrainSaysItsSplit: the validation figures of a run are measured on
// what its split leaves, and train says what that is before the first epoch:
// of 3 images, floor(3·0.9) = 2 train and the last 1 validates, so
// val_accuracy is that one image's (0 or 1), printed after the split line.
func TestTrainSaysItsSplit(t *testing.T) {
	data := realMNISTDir(t)
	out := filepath.Join(t.TempDir(), "r.csv")
	stdout, stderr, exit := runRegcl(t, nil, "train", "--train-size", "3", "--epochs", "1", "--device", "cpu", "--data", data, "--output", out)
	if exit != 0 {
		t.Fatalf("exit %d\n%s\n%s", exit, stdout, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if lines[0] != "split: of 3 images, 2 train and the last 1 validates (validation split 0.1)" || !strings.HasPrefix(lines[1], "Epoch 1/1  1/1 ") {
		t.Errorf("train --train-size 3 printed:\n%s", stdout)
	}
	if !strings.Contains(lines[1], "val_accuracy 0.0000") && !strings.Contains(lines[1], "val_accuracy 1.0000") {
		t.Errorf("the accuracy of one validation image is 0 or 1: %s", lines[1])
	}
}
