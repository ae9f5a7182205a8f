package main

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/regcl/regcl/mnist"
	"github.com/regcl/regcl/model"
)

// badInputReportEnv names a file that receives TestBadInput's messages as a
// markdown table.
const badInputReportEnv = "REGCL_BADINPUT_REPORT"

// cliFixtures are the files the bad-input cases point at.
type cliFixtures struct {
	dir         string
	model       string // a valid model file of the baseline network (untrained)
	truncated   string // its first half
	flipped     string // one byte flipped
	version     string // version 7, checksum redone
	shapes      string // config 784-256-128-10 but dense2/kernel of shape [256 64]
	text        string // a text file
	picture     string // a 28×28 PNG
	gridTypo    string // a YAML grid with the key l1s
	gridJSON    string // a JSON grid whose l1 holds a string
	gridOK      string // a grid of one run
	emptyDir    string
	resumeEmpty string
	resumeBad   string // a folder holding only a damaged checkpoint

	dataOnce            sync.Once
	corruptDir, hashDir string // copies of MNIST with a damaged file
}

// baselineFile is a model file of the baseline network with random weights;
// shape overrides the shape of one tensor (by name).
func baselineFile(t testing.TB, override map[string][]int) *model.File {
	t.Helper()
	cfg, err := model.Preset("baseline")
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	f := &model.File{Kind: "model", Config: cfg}
	in := cfg.Inputs
	add := func(name string, shape ...int) {
		if s, ok := override[name]; ok {
			shape = s
		}
		n := 1
		for _, d := range shape {
			n *= d
		}
		data := make([]float32, n)
		for i := range data {
			data[i] = float32(rng.NormFloat64() * 0.05)
		}
		f.Tensors = append(f.Tensors, model.FileTensor{Name: name, Shape: shape, Data: data})
	}
	for i, h := range cfg.Hidden {
		add(model.HiddenKernel(i), in, h)
		add(fmt.Sprintf("dense%d/bias", i+1), h)
		in = h
	}
	add("output/kernel", in, cfg.Classes)
	add("output/bias", cfg.Classes)
	return f
}

func writeBytes(t testing.TB, path string, b []byte) string {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func newCLIFixtures(t *testing.T) *cliFixtures {
	t.Helper()
	dir := t.TempDir()
	fx := &cliFixtures{dir: dir}
	fx.model = filepath.Join(dir, "model.regcl")
	if err := model.WriteFile(fx.model, baselineFile(t, nil)); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(fx.model)
	if err != nil {
		t.Fatal(err)
	}
	fx.truncated = writeBytes(t, filepath.Join(dir, "truncated.regcl"), good[:len(good)/2])
	flipped := bytes.Clone(good)
	flipped[len(flipped)/3] ^= 0x04
	fx.flipped = writeBytes(t, filepath.Join(dir, "flipped.regcl"), flipped)
	v7 := bytes.Clone(good[:len(good)-sha256.Size])
	binary.LittleEndian.PutUint32(v7[8:12], 7)
	sum := sha256.Sum256(v7)
	fx.version = writeBytes(t, filepath.Join(dir, "version7.regcl"), append(v7, sum[:]...))
	fx.shapes = filepath.Join(dir, "shapes.regcl")
	if err := model.WriteFile(fx.shapes, baselineFile(t, map[string][]int{"dense2/kernel": {256, 64}})); err != nil {
		t.Fatal(err)
	}
	fx.text = writeBytes(t, filepath.Join(dir, "digit.txt"), []byte("this is a seven, honest\n"))
	img := image.NewGray(image.Rect(0, 0, 28, 28))
	for y := 4; y < 24; y++ {
		img.SetGray(14, y, color.Gray{Y: 255})
	}
	var pb bytes.Buffer
	if err := png.Encode(&pb, img); err != nil {
		t.Fatal(err)
	}
	fx.picture = writeBytes(t, filepath.Join(dir, "one.png"), pb.Bytes())
	fx.gridTypo = writeBytes(t, filepath.Join(dir, "typo.yaml"), []byte("model: [baseline]\nl1s: [0, 1.0e-4]\n"))
	fx.gridOK = writeBytes(t, filepath.Join(dir, "one.yaml"), []byte("model: baseline\n"))
	fx.gridJSON = writeBytes(t, filepath.Join(dir, "grid.json"), []byte("{\n  \"model\": [\"baseline\"],\n  \"l1\": [\"abc\"]\n}\n"))
	for _, d := range []*string{&fx.emptyDir, &fx.resumeEmpty, &fx.resumeBad} {
		*d = t.TempDir()
	}
	writeBytes(t, filepath.Join(fx.resumeBad, "ckpt-000000000029.regcl"), good[:len(good)-1000])
	return fx
}

// dataDirs makes two copies of the real MNIST: one whose train-images file is
// a truncated gzip stream, one whose train-labels file is a valid IDX file
// that differs from the canonical one (so only its hash is wrong).
func (fx *cliFixtures) dataDirs(t *testing.T) {
	src := realMNISTDir(t)
	fx.dataOnce.Do(func() {
		fx.corruptDir = filepath.Join(fx.dir, "corrupt")
		fx.hashDir = filepath.Join(fx.dir, "otherlabels")
		for _, d := range []string{fx.corruptDir, fx.hashDir} {
			if err := os.Mkdir(d, 0o755); err != nil {
				t.Fatal(err)
			}
			for _, f := range mnist.Files {
				copyFile(t, filepath.Join(src, f.Name), filepath.Join(d, f.Name))
			}
		}
		imgs := filepath.Join(fx.corruptDir, mnist.Files[0].Name)
		b, err := os.ReadFile(imgs)
		if err != nil {
			t.Fatal(err)
		}
		writeBytes(t, imgs, b[:100000])

		labels := filepath.Join(fx.hashDir, mnist.Files[1].Name)
		gz, err := os.ReadFile(labels)
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(bytes.NewReader(gz))
		if err != nil {
			t.Fatal(err)
		}
		raw, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		raw[8] = (raw[8] + 1) % 10 // the first label, changed to another digit
		var out bytes.Buffer
		zw := gzip.NewWriter(&out)
		zw.Write(raw)
		zw.Close()
		writeBytes(t, labels, out.Bytes())
		if _, err := mnist.Load(mnist.Options{Dir: fx.hashDir, NoVerify: true}); err != nil {
			t.Fatalf("the data with the modified labels file is not valid IDX: %v", err)
		}
	})
	if fx.corruptDir == "" || fx.hashDir == "" {
		t.Fatal("the data fixtures were not made")
	}
}

type badCase struct {
	name    string
	mnist   bool // needs the real MNIST (the command reads it before failing)
	args    func(fx *cliFixtures, out string) []string
	phrases []string // each must appear in stderr
}

// trainArgs is a small fast `regcl train` whose flags overrides replace.
func trainArgs(out string, overrides ...string) []string {
	args := []string{"train"}
	for _, d := range [][2]string{{"--train-size", "1000"}, {"--epochs", "1"}, {"--device", "cpu"}} {
		if !slices.Contains(overrides, d[0]) {
			args = append(args, d[0], d[1])
		}
	}
	return append(append(args, "--output", filepath.Join(out, "r.csv")), overrides...)
}

func trainWith(overrides ...string) func(*cliFixtures, string) []string {
	return func(_ *cliFixtures, out string) []string { return trainArgs(out, overrides...) }
}

// trainData is like trainWith with --data naming the real MNIST.
func trainData(overrides ...string) func(*cliFixtures, string) []string {
	return func(_ *cliFixtures, out string) []string {
		return trainArgs(out, append([]string{"--data", mnistDir}, overrides...)...)
	}
}

var badCases = []badCase{
	{"unknown --model", false, trainWith("--model", "nosuch"), []string{`unknown model "nosuch"`, "baseline, l1, l2, dropout, batch_norm, elastic_net"}},
	{"--epochs 0", false, trainWith("--epochs", "0"), []string{"epochs must be at least 1, got 0"}},
	{"--epochs abc", false, trainWith("--epochs", "abc"), []string{"train: --epochs abc: not a whole number"}},
	{"--batch-size 0", false, trainWith("--batch-size", "0"), []string{"batch size must be at least 1, got 0"}},
	{"--validation-split 0", false, trainWith("--validation-split", "0"), []string{"validation split must be in (0,1), got 0"}},
	{"--validation-split 1", false, trainWith("--validation-split", "1"), []string{"validation split must be in (0,1), got 1"}},
	{"--validation-split 1.5", false, trainWith("--validation-split", "1.5"), []string{"validation split must be in (0,1), got 1.5"}},
	{"--dropout 1", false, trainWith("--dropout", "1"), []string{"dropout must be in [0,1), got 1"}},
	{"--dropout -0.1", false, trainWith("--dropout", "-0.1"), []string{"dropout must be in [0,1), got -0.1"}},
	{"--l1 -1", false, trainWith("--l1", "-1"), []string{"l1 must be a finite number ≥ 0, got -1"}},
	{"--l2 -1", false, trainWith("--l2", "-1"), []string{"l2 must be a finite number ≥ 0, got -1"}},
	{"--l1 Inf", false, trainWith("--l1", "Inf"), []string{"l1 must be a finite number ≥ 0, got +Inf"}},
	{"--dropout NaN", false, trainWith("--dropout", "NaN"), []string{"dropout must be in [0,1), got NaN"}},
	{"--lr 0", false, trainWith("--lr", "0"), []string{"learning rate must be a positive number, got 0"}},
	{"--lr -1", false, trainWith("--lr", "-1"), []string{"learning rate must be a positive number, got -1"}},
	{"--hidden 0,5", false, trainWith("--hidden", "0,5"), []string{`hidden sizes "0,5"`, `"0" is not a positive integer`}},
	{"--hidden abc", false, trainWith("--hidden", "abc"), []string{`hidden sizes "abc"`, "not a positive integer"}},
	{"--train-size -3", false, trainWith("--train-size", "-3"), []string{"train size must be ≥ 0, got -3"}},
	{"--train-size 60001", true, trainData("--train-size", "60001"), []string{"train size 60001 exceeds the 60000 training images"}},
	{"--device nonsense", true, trainData("--device", "nonsense"), []string{`unknown device "nonsense"`, "regcl devices"}},
	{"--device opencl:9:9", true, trainData("--device", "opencl:9:9"), []string{"--device opencl:9:9"}},
	{"train with a positional argument", false, func(_ *cliFixtures, out string) []string {
		return append(trainArgs(out), "extra")
	}, []string{`unexpected argument "extra"`}},
	{"--data: empty folder", false, func(fx *cliFixtures, out string) []string {
		return trainArgs(out, "--data", fx.emptyDir)
	}, []string{"missing files", "--data folder lacks", "train-images-idx3-ubyte.gz"}},
	{"--data: truncated gzip train-images", true, func(fx *cliFixtures, out string) []string {
		return trainArgs(out, "--data", fx.corruptDir)
	}, []string{"train-images-idx3-ubyte.gz", "SHA-256 mismatch"}},
	{"--data: truncated gzip train-images, --no-verify", true, func(fx *cliFixtures, out string) []string {
		return trainArgs(out, "--data", fx.corruptDir, "--no-verify")
	}, []string{"train-images-idx3-ubyte.gz: truncated", "gzip stream is cut off"}},
	{"--data: valid IDX labels file with another hash", true, func(fx *cliFixtures, out string) []string {
		return trainArgs(out, "--data", fx.hashDir)
	}, []string{"train-labels-idx1-ubyte.gz", "SHA-256 mismatch", "--no-verify"}},
	{"--resume: empty folder", true, func(fx *cliFixtures, out string) []string {
		return trainArgs(out, "--data", mnistDir, "--resume", fx.resumeEmpty)
	}, []string{"no valid checkpoint"}},
	{"--resume: only a damaged checkpoint", true, func(fx *cliFixtures, out string) []string {
		return trainArgs(out, "--data", mnistDir, "--resume", fx.resumeBad)
	}, []string{"skipping damaged checkpoint", "ckpt-000000000029.regcl", "checksum mismatch", "no valid checkpoint"}},
	{"eval: no such file", false, func(fx *cliFixtures, _ string) []string {
		return []string{"eval", "--device", "cpu", filepath.Join(fx.dir, "missing.regcl")}
	}, []string{"missing.regcl", "no such file or directory"}},
	{"eval: no file", false, func(fx *cliFixtures, _ string) []string {
		return []string{"eval", "--device", "cpu"}
	}, []string{"want one model file"}},
	{"eval: truncated model file", false, func(fx *cliFixtures, _ string) []string {
		return []string{"eval", "--device", "cpu", fx.truncated}
	}, []string{"truncated.regcl", "invalid model file", "truncated"}},
	{"eval: a flipped byte", false, func(fx *cliFixtures, _ string) []string {
		return []string{"eval", "--device", "cpu", fx.flipped}
	}, []string{"flipped.regcl", "checksum mismatch"}},
	{"eval: version 7 (checksum redone)", false, func(fx *cliFixtures, _ string) []string {
		return []string{"eval", "--device", "cpu", fx.version}
	}, []string{"version7.regcl", "unsupported version 7"}},
	{"eval: tensor shape differs from the config", true, func(fx *cliFixtures, _ string) []string {
		return []string{"eval", "--device", "cpu", "--data", mnistDir, fx.shapes}
	}, []string{"dense2/kernel", "[256 64]", "[256 128]"}},
	{"predict: no images", false, func(fx *cliFixtures, _ string) []string {
		return []string{"predict", fx.model}
	}, []string{"predict: want a model file and at least one image, got 1 argument"}},
	{"predict: a text file", false, func(fx *cliFixtures, _ string) []string {
		return []string{"predict", fx.model, fx.text}
	}, []string{"digit.txt", "not an IDX image file, PNG, JPEG or GIF"}},
	{"tune --budget 1s", false, func(*cliFixtures, string) []string {
		return []string{"tune", "--budget", "1s"}
	}, []string{"--budget must be between 5s and 24h, got 1s"}},
	{"tune --device cpu", false, func(*cliFixtures, string) []string {
		return []string{"tune", "--device", "cpu"}
	}, []string{"the gonum backend has nothing to tune"}},
	{"tune --hidden 0", false, func(*cliFixtures, string) []string {
		return []string{"tune", "--hidden", "0"}
	}, []string{`hidden sizes "0"`}},
	{"bench --late-epoch 5", false, func(*cliFixtures, string) []string {
		return []string{"bench", "--late-epoch", "5"}
	}, []string{"--late-epoch must be 0 or in 7..1000"}},
	{"regcl nosuchcommand", false, func(*cliFixtures, string) []string {
		return []string{"nosuchcommand"}
	}, []string{`unknown command "nosuchcommand"`}},
	{"regcl --verison", false, func(*cliFixtures, string) []string {
		return []string{"--verison"}
	}, []string{"regcl: unknown flag --verison (did you mean --version? regcl --help lists them)"}},
	{"regcl trian", false, func(*cliFixtures, string) []string {
		return []string{"trian"}
	}, []string{`unknown command "trian" (did you mean "train"? regcl --help lists them)`}},
	{"sweep rnu", false, func(*cliFixtures, string) []string {
		return []string{"sweep", "rnu"}
	}, []string{`sweep: unknown command "rnu" (did you mean "run"? regcl sweep --help lists them)`}},
	{"report with a folder as argument", false, func(*cliFixtures, string) []string {
		return []string{"report", "results"}
	}, []string{`report: unexpected argument "results" (regcl report takes no arguments; regcl report --help lists its flags)`}},
	{"train --epohcs 3", false, trainWith("--epohcs", "3"), []string{"train: unknown flag --epohcs (did you mean --epochs? regcl train --help lists them)"}},
	{"sweep run --shrad 1/2", false, func(*cliFixtures, string) []string {
		return []string{"sweep", "run", "--shrad", "1/2"}
	}, []string{"sweep run: unknown flag --shrad (did you mean --shard? regcl sweep run --help lists them)"}},
	{"train --epochs without a value", false, func(*cliFixtures, string) []string {
		return []string{"train", "--epochs"}
	}, []string{"train: --epochs needs a value"}},
	{"train --batch-norm=maybe", false, trainWith("--batch-norm=maybe"), []string{"train: --batch-norm maybe: want true or false"}},
	{"train --seed -1", false, trainWith("--seed", "-1"), []string{"train: --seed -1: not a whole number ≥ 0"}},
	{"tune --budget 10", false, func(*cliFixtures, string) []string {
		return []string{"tune", "--budget", "10"}
	}, []string{"tune: --budget 10: a duration needs a unit: 10s, 10m or 10h"}},
	{"tune --budget 10x", false, func(*cliFixtures, string) []string {
		return []string{"tune", "--budget", "10x"}
	}, []string{"tune: --budget 10x: not a duration (a number with a unit: 90s, 5m, 1h30m)"}},
	{"compare --parallel 0", false, func(*cliFixtures, string) []string {
		return []string{"compare", "--parallel", "0"}
	}, []string{"compare: --parallel 0: want a number ≥ 1, or auto"}},
	{"compare --parallel two", false, func(*cliFixtures, string) []string {
		return []string{"compare", "--parallel", "two"}
	}, []string{"compare: --parallel two: want a number ≥ 1, or auto"}},
	{"eval: a flag after the model file", false, func(fx *cliFixtures, _ string) []string {
		return []string{"eval", fx.model, "--device", "cpu"}
	}, []string{"eval: flags go before arguments, but --device follows", "write regcl eval --device cpu "}},
	{"predict: a flag after the images", false, func(fx *cliFixtures, _ string) []string {
		return []string{"predict", fx.model, fx.picture, "--device", "cpu"}
	}, []string{"predict: flags go before arguments, but --device follows", "write regcl predict --device cpu ", "one.png"}},
	{"eval: two model files", false, func(fx *cliFixtures, _ string) []string {
		return []string{"eval", "--device", "cpu", fx.model, fx.model}
	}, []string{"eval: want one model file, got 2 arguments"}},
	{"sweep: a typo in a YAML grid", false, func(fx *cliFixtures, _ string) []string {
		return []string{"sweep", "--grid", fx.gridTypo}
	}, []string{"typo.yaml (YAML): line 2: unknown key \"l1s\" (did you mean \"l1\"? the keys are model, l1, l2,"}},
	{"sweep: a string for a number in a JSON grid", false, func(fx *cliFixtures, _ string) []string {
		return []string{"sweep", "--grid", fx.gridJSON}
	}, []string{"grid.json (JSON): line 3: l1: \"abc\" is not a number"}},
	{"compare: --l1 makes baseline and l1 one run", false, func(*cliFixtures, string) []string {
		return []string{"compare", "--models", "baseline,l1", "--l1", "1e-3"}
	}, []string{"compare: baseline and l1 are the same run with these settings (784-256-128-10 l1=0.001, 20 epochs, batch 128, lr 0.001, validation split 0.1)",
		"leave one out of --models"}},
	{"compare: a method twice", false, func(*cliFixtures, string) []string {
		return []string{"compare", "--models", "l1,dropout,l1"}
	}, []string{"compare: --models names l1 twice"}},
	{"--train-size 1: no image to train", false, trainWith("--train-size", "1"), []string{"train: of 1 image, 0 train and the last 1 validates (validation split 0.1); each needs at least one"}},
	{"--train-size 3, a split that leaves no image to validate", false, trainWith("--train-size", "3", "--validation-split", "1e-17"),
		[]string{"train: of 3 images, 3 train and the last 0 validate (validation split 1e-17); each needs at least one"}},
	{"sweep --max-runs 0", false, func(fx *cliFixtures, _ string) []string {
		return []string{"sweep", "--grid", fx.gridOK, "--max-runs", "0"}
	}, []string{"--max-runs must be at least 1, got 0"}},
}

// infoLine reports whether a line of stderr is a notice regcl prints before
// an error (the device chosen, a checkpoint skipped).
func infoLine(l string) bool {
	return strings.HasPrefix(l, "device: ") || strings.HasPrefix(l, "skipping damaged checkpoint: ") ||
		strings.HasPrefix(l, "tuning file ignored")
}

type badResult struct {
	name, message string
	exit          int
	skipped       string
}

// TestBadInput runs regcl with wrong flags, arguments and files: each must end
// with exit status 1 and a message "regcl: …" naming what is wrong, without
// a panic or stack trace.
func TestBadInput(t *testing.T) {
	fx := newCLIFixtures(t)
	results := make([]badResult, len(badCases))
	t.Run("cases", func(t *testing.T) {
		for i, c := range badCases {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				results[i] = badResult{name: c.name, skipped: "no result"}
				if c.mnist {
					results[i].skipped = "needs the real MNIST, which is not available"

					realMNISTDir(t)
					if strings.Contains(c.name, "--data:") {
						fx.dataDirs(t)
					}
				}
				out := t.TempDir()
				args := c.args(fx, out)
				stdout, stderr, exit := runRegcl(t, nil, args...)
				lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
				msg := lines[len(lines)-1]
				var shown []string
				for _, l := range lines {
					if !strings.HasPrefix(l, "device: ") {
						shown = append(shown, l)
					}
				}
				results[i] = badResult{name: c.name, message: strings.Join(shown, " ⏎ "), exit: exit}
				t.Logf("regcl %s\n  exit %d: %s", strings.Join(args, " "), exit, strings.Join(shown, "\n  "))
				if exit != 1 {
					t.Errorf("exit status %d, want 1", exit)
				}
				if !strings.HasPrefix(msg, "regcl: ") {
					t.Errorf("the last line of stderr, %q, does not start with \"regcl: \"", msg)
				}
				for _, l := range lines[:len(lines)-1] {
					if !infoLine(l) {
						t.Errorf("unexpected line on stderr before the error: %q", l)
					}
				}
				for _, p := range c.phrases {
					if !strings.Contains(stderr, p) {
						t.Errorf("stderr does not mention %q", p)
					}
				}
				checkNoCrash(t, c.name, stdout, stderr)
				if _, err := os.Stat(filepath.Join(out, "r.csv")); err == nil {
					t.Errorf("a failed run wrote the results CSV")
				}
			})
		}
	})
	var md strings.Builder
	md.WriteString("| case | exit | message |\n|---|---|---|\n")
	for _, r := range results {
		exit := fmt.Sprint(r.exit)
		if r.skipped != "" {
			exit, r.message = "–", "("+r.skipped+")"
		}
		fmt.Fprintf(&md, "| %s | %s | %s |\n", mdCell(r.name), exit, mdCell(r.message))
	}
	t.Logf("bad-input messages:\n%s", md.String())
	if p := os.Getenv(badInputReportEnv); p != "" {
		if err := os.WriteFile(p, []byte(md.String()), 0o644); err != nil {
			t.Error(err)
		}
	}
}

func mdCell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	s = strings.ReplaceAll(s, "`", "'")
	return "`" + strings.ReplaceAll(s, "\n", " ") + "`"
}

// TestEvalPredictControls runs eval and predict on the intact fixtures, so
// that TestBadInput's failures are known to come from the damage alone.
func TestEvalPredictControls(t *testing.T) {
	fx := newCLIFixtures(t)
	stdout, stderr, exit := runRegcl(t, nil, "predict", "--device", "cpu", fx.model, fx.picture)
	checkNoCrash(t, "predict", stdout, stderr)
	if exit != 0 || !strings.Contains(stdout, "one.png: ") {
		t.Errorf("predict of the intact model and a PNG: exit %d\nstdout:\n%s\nstderr:\n%s", exit, stdout, stderr)
	}
	dir := realMNISTDir(t)
	stdout, stderr, exit = runRegcl(t, nil, "eval", "--device", "cpu", "--data", dir, fx.model)
	checkNoCrash(t, "eval", stdout, stderr)
	if exit != 0 || !strings.Contains(stdout, "test_accuracy") || !strings.Contains(stdout, "784-256-128-10") {
		t.Errorf("eval of the intact model: exit %d\nstdout:\n%s\nstderr:\n%s", exit, stdout, stderr)
	}
}

// TestDeviceOutOfMemory: a batch no device can hold is a clear error naming
// the allocation that failed (the device's bound on one allocation, or the
// OpenCL call and its status) and a hint, not a panic or a hang.
func TestDeviceOutOfMemory(t *testing.T) {
	needOpenCL(t)
	out := t.TempDir()
	// 100,000,000 rows × 784 floats = 313 GB for the batch buffer alone.
	_, stderr, exit := runRegcl(t, nil, "train", "--device", "opencl", "--data", realMNISTDir(t), "--epochs", "1",
		"--batch-size", "100000000", "--output", filepath.Join(out, "r.csv"))
	checkNoCrash(t, "huge batch on OpenCL", "", stderr)
	named := strings.Contains(stderr, "largest allocation of") || strings.Contains(stderr, "clCreateBuffer") && strings.Contains(stderr, "CL_")
	if exit != 1 || !named || !strings.Contains(stderr, "use a smaller batch or network") {
		t.Errorf("exit %d, stderr:\n%s", exit, stderr)
	}
	t.Logf("%s", strings.TrimSpace(stderr))
}
