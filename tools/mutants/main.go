package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/regcl/regcl/internal/plural"
)

// A mutant replaces Old (which must occur exactly once in File) by New.
type mutant struct {
	Name     string
	File     string
	Old, New string
	Pkg      string // the package whose tests must fail
	Run      string // -run pattern of those tests
}

// The tests that pin the semantics: the golden training steps (an
// independent float64 implementation), the loop tests, the init tests.
const (
	golden = "^TestGoldenCPU64$"
	loop   = "^(TestGoldenCPU64|TestSplitIsKerasValidationSplit|TestEpochOrder|TestLastBatch|TestAdamSchedule)$"
	init_  = "^(TestInitIsKerasDefault|TestPenalizedTensors)$"
	// The bounds on a run's settings and a network's, each tested from both
	// sides (DESIGN.md, "Bounds on inputs").
	runBounds = "^(TestConfigValidate|TestSplitText)$"
	netBounds = "^TestValidateBoundaries$"
	cmdBounds = "^TestCommandBounds$"
	// The bounds on a described device's fields (regcl plan --describe).
	descBounds = "^TestDescriptionBounds$"
)

var mutants = []mutant{
	{"output kernel penalized", "model/net.go", `n.ow = tensor("output/kernel", true, false,`, `n.ow = tensor("output/kernel", true, true,`, "./model ./train", init_ + "|" + golden},
	{"hidden biases penalized", "model/net.go", `L.b = tensor(p+"bias", true, false, h)`, `L.b = tensor(p+"bias", true, true, h)`, "./train", golden},
	{"no penalized prefix in the optimizer", "model/net.go", `n.nPenalized = off`, `n.nPenalized = 0`, "./train", golden},
	{"BatchNorm momentum 0.9", "model/config.go", `BNMomentum = 0.99`, `BNMomentum = 0.9`, "./train", golden},
	{"BatchNorm inference ε 1e-5", "model/net.go", `L.mm.W, L.mv.W, rows, L.out, BNEpsilon)`, `L.mm.W, L.mv.W, rows, L.out, 1e-5)`, "./train", golden},
	{"BatchNorm unbiased batch variance", "device/cpu/cpu.go", `v := ss / float64(rows)`, `v := ss / float64(rows-1)`, "./train", golden},
	{"BatchNorm moving variance from the mean", "device/cpu/cpu.go", `mv[c] = flush(mv[c] - (mv[c]-T(v))*decay)`, `mv[c] = flush(mv[c] - (mv[c]-T(m))*decay)`, "./train", golden},
	{"dropout active at inference", "model/net.go", "\t\td := device.Dropout{}\n\t\tif train {", "\t\td := device.Dropout{On: true, Step: step, Layer: uint32(l)}\n\t\tif train {", "./train", golden},
	{"dropout without its 1/(1−p) scale", "device/backend.go", `return 1 / (1 - p)`, `return 1`, "./train", golden},
	{"dropout masks reused across steps", "train/trainer.go", `t.Net.Forward(t.batch, rows, true, step)`, `t.Net.Forward(t.batch, rows, true, 0)`, "./train", golden},
	{"last batch scaled by 1/128", "train/trainer.go", `1/float64(rows), t.acc, t.Opt.Pending, int(step))`, `1/float64(cfg.BatchSize), t.acc, t.Opt.Pending, int(step))`, "./train", loop},
	{"penalty left out of the training loss", "train/adam.go", `h.Pending, h.PenaltyScale = a.Pending, float64(rows)`, `h.Pending, h.PenaltyScale = a.Pending, 0`, "./train", golden},
	{"the epoch's last penalty left pending", "train/trainer.go", `		t.be.PenaltyFold(t.acc, t.Opt.Pending)
`, ``, "./train", golden},
	{"the step before's penalty not added by the loss", "train/trainer.go", `1/float64(rows), t.acc, t.Opt.Pending, int(step))`, `1/float64(rows), t.acc, nil, int(step))`, "./train", golden},
	{"epoch loss averaged over steps", "train/trainer.go", `Loss:     float64(a[device.AccLoss]) / float64(t.ntrain),`, `Loss:     float64(a[device.AccLoss]) / float64(t.Steps()),`, "./train", golden},
	{"validation from the first images", "train/trainer.go", `t.evaluate(ctx, t.data.trainX, t.data.trainY, t.ntrain, t.nval)`, `t.evaluate(ctx, t.data.trainX, t.data.trainY, 0, t.nval)`, "./train", loop},
	{"validation loss without the penalty", "train/evaluator.go", `net.PenaltySum(ev.acc, float64(n))`, `_ = n`, "./train", golden},
	{"validation split rounded up", "train/config.go", `t := int(math.Floor(float64(n) * (1 - c.ValidationSplit)))`, `t := int(math.Ceil(float64(n) * (1 - c.ValidationSplit)))`, "./train", loop},
	{"no reshuffle between epochs", "train/trainer.go", `0x73687566666c65^uint64(epoch)`, `0x73687566666c65`, "./train", loop},
	{"Adam β1 0.8", "train/config.go", `AdamBeta1              = 0.9`, `AdamBeta1              = 0.8`, "./train", loop},
	{"Adam β2 0.99", "train/config.go", `AdamBeta2              = 0.999`, `AdamBeta2              = 0.99`, "./train", loop},
	{"Adam ε 1e-8 (PyTorch's)", "train/config.go", `AdamEpsilon            = 1e-7`, `AdamEpsilon            = 1e-8`, "./train", golden},
	{"Adam without bias correction", "device/backend.go", `return math.Sqrt(1-math.Pow(beta2, ft)) / (1 - math.Pow(beta1, ft))`, `return 1 + 0*ft`, "./train", loop},
	{"Adam's step count restarting each epoch", "train/trainer.go", `t.Opt.Step(step+1, rows)`, `t.Opt.Step(uint64(s)+1, rows)`, "./train", loop},
	{"λ2's gradient halved", "device/cpu/cpu.go", `l1, l2x2 := T(be.scalar(p.L1)), 2*T(be.scalar(p.L2))`, `l1, l2x2 := T(be.scalar(p.L1)), 1*T(be.scalar(p.L2))`, "./train", golden},
	{"L1's sign(0) = 1", "device/cpu/cpu.go", "\tcase x > 0:\n\t\treturn 1", "\tcase x >= 0:\n\t\treturn 1", "./train", golden},
	{"Glorot limit √(2/(fan_in+fan_out))", "model/net.go", `limit := math.Sqrt(6 / float64(t.Shape[0]+t.Shape[1]))`, `limit := math.Sqrt(2 / float64(t.Shape[0]+t.Shape[1]))`, "./model", init_},
	{"γ and moving variance starting at 0.5", "model/net.go", "\t\t\t\tv[i] = 1\n", "\t\t\t\tv[i] = 0.5\n", "./model", init_},

	// Boundaries, each pinned from both sides: what must change just past
	// the bound, and what must not just inside it.
	{"validation split rounded to nearest", "train/config.go", `t := int(math.Floor(float64(n) * (1 - c.ValidationSplit)))`, `t := int(math.Round(float64(n) * (1 - c.ValidationSplit)))`, "./train", loop},
	{"last partial batch dropped", "train/trainer.go", `func (t *Trainer) Steps() int { return (t.ntrain + t.Cfg.BatchSize - 1) / t.Cfg.BatchSize }`, `func (t *Trainer) Steps() int { return t.ntrain / t.Cfg.BatchSize }`, "./train", "^TestLastBatchBoundary$"},
	{"an empty step after a full last batch", "train/trainer.go", `func (t *Trainer) Steps() int { return (t.ntrain + t.Cfg.BatchSize - 1) / t.Cfg.BatchSize }`, `func (t *Trainer) Steps() int { return (t.ntrain + t.Cfg.BatchSize) / t.Cfg.BatchSize }`, "./train", "^TestLastBatchBoundary$"},
	{"a split leaving no image to validate accepted", "train/config.go", `tn < 1 || vn < 1 {`, `tn < 1 || vn < 0 {`, "./train", runBounds},
	{"a split leaving no image to train accepted", "train/config.go", `tn < 1 || vn < 1 {`, `tn < 0 || vn < 1 {`, "./train", runBounds},
	{"0 epochs accepted", "train/config.go", `case c.Epochs < 1:`, `case c.Epochs < 0:`, "./train", runBounds},
	{"batch size 0 accepted", "train/config.go", `case c.BatchSize < 1:`, `case c.BatchSize < 0:`, "./train", runBounds},
	{"validation split 0 accepted", "train/config.go", `case !(c.ValidationSplit > 0 && c.ValidationSplit < 1):`, `case !(c.ValidationSplit >= 0 && c.ValidationSplit < 1):`, "./train", runBounds},
	{"validation split 1 accepted", "train/config.go", `case !(c.ValidationSplit > 0 && c.ValidationSplit < 1):`, `case !(c.ValidationSplit > 0 && c.ValidationSplit <= 1):`, "./train", runBounds},
	{"learning rate 0 accepted", "train/config.go", `case !(c.LR > 0) || math.IsInf(c.LR, 0):`, `case !(c.LR >= 0) || math.IsInf(c.LR, 0):`, "./train", runBounds},
	{"learning rate +Inf accepted", "train/config.go", `case !(c.LR > 0) || math.IsInf(c.LR, 0):`, `case !(c.LR > 0):`, "./train", runBounds},
	{"train size -1 accepted", "train/config.go", `case c.TrainSize < 0:`, `case c.TrainSize < -1:`, "./train", runBounds},
	{"dropout 1 accepted", "model/config.go", `case !(c.Dropout >= 0 && c.Dropout < 1):`, `case !(c.Dropout >= 0 && c.Dropout <= 1):`, "./model", netBounds},
	{"dropout 0 refused", "model/config.go", `case !(c.Dropout >= 0 && c.Dropout < 1):`, `case !(c.Dropout > 0 && c.Dropout < 1):`, "./model", netBounds},
	{"negative dropout accepted", "model/config.go", `case !(c.Dropout >= 0 && c.Dropout < 1):`, `case !(c.Dropout >= -1 && c.Dropout < 1):`, "./model", netBounds},
	{"hidden width 65537 accepted", "model/config.go", `if h < 1 || h > 1<<16 {`, `if h < 1 || h > 1<<16+1 {`, "./model", netBounds},
	{"hidden width 65536 refused", "model/config.go", `if h < 1 || h > 1<<16 {`, `if h < 1 || h >= 1<<16 {`, "./model", netBounds},
	{"hidden width 0 accepted", "model/config.go", `if h < 1 || h > 1<<16 {`, `if h < 0 || h > 1<<16 {`, "./model", netBounds},
	{"l1 of +Inf accepted", "model/config.go", `case !(c.L1 >= 0) || math.IsInf(c.L1, 1):`, `case !(c.L1 >= 0):`, "./model", netBounds},
	{"negative l2 accepted", "model/config.go", `case !(c.L2 >= 0) || math.IsInf(c.L2, 1):`, `case !(c.L2 >= -1) || math.IsInf(c.L2, 1):`, "./model", netBounds},
	{"one class accepted", "model/config.go", `case c.Classes < 2:`, `case c.Classes < 1:`, "./model", netBounds},
	{"near-zero bound moved past 1e-3", "train/results.go", `const NearZeroThreshold = 1e-3`, `const NearZeroThreshold = 1.0000001e-3`, "./train", "^TestComputeWeightStats$"},
	{"IDX header of MaxItems refused", "mnist/idx.go", `if dims[0] > MaxItems {`, `if dims[0] >= MaxItems {`, "./mnist", "^TestHugeHeaderSmallAllocation$"},
	{"IDX header of one item refused", "mnist/idx.go", `if dims[0] == 0 {`, `if dims[0] <= 1 {`, "./mnist", "^TestItemCountBounds$"},
	{"picture 16384 wide refused", "mnist/image.go", `cfg.Width > MaxPictureSide ||`, `cfg.Width >= MaxPictureSide ||`, "./mnist", "^TestPictureBounds$"},
	{"picture 16385 high accepted", "mnist/image.go", `cfg.Height > MaxPictureSide ||`, `cfg.Height > MaxPictureSide+1 ||`, "./mnist", "^TestPictureBounds$"},
	{"picture of exactly 40 megapixels refused", "mnist/image.go", `int64(cfg.Width)*int64(cfg.Height) > MaxPicturePixels`, `int64(cfg.Width)*int64(cfg.Height) >= MaxPicturePixels`, "./mnist", "^TestPictureBounds$"},
	{"picture with a border of mean 127 inverted", "mnist/image.go", `if border > 127*nb {`, `if border >= 127*nb {`, "./mnist", "^TestInvertsLightPictures$"},
	{"file at the size bound refused", "internal/readfile/readfile.go", `st.Size() > max {`, `st.Size() >= max {`, "./internal/readfile", "^TestMax$"},
	{"stream at the size bound refused", "internal/readfile/readfile.go", `if int64(len(b)) > max {`, `if int64(len(b)) >= max {`, "./internal/readfile", "^TestMax$"},
	{"grid of exactly --max-runs refused", "sweep/grid.go", `if n := g.Runs(); n > int64(maxRuns) {`, `if n := g.Runs(); n >= int64(maxRuns) {`, "./sweep", "^TestGridBound$"},
	{"--max-runs 0 accepted", "cmd/regcl/sweep.go", `c.IsSet("max-runs") && m < 1`, `c.IsSet("max-runs") && m < 0`, "./cmd/regcl", cmdBounds},
	{"tune --budget 5s refused", "cmd/regcl/tune.go", `budget < 5*time.Second || budget > 24*time.Hour`, `budget <= 5*time.Second || budget > 24*time.Hour`, "./cmd/regcl", cmdBounds},
	{"tune --budget past 24h accepted", "cmd/regcl/tune.go", `budget < 5*time.Second || budget > 24*time.Hour`, `budget < 5*time.Second || budget > 25*time.Hour`, "./cmd/regcl", cmdBounds},
	{"sweep submit --tasks past the runs accepted", "cmd/regcl/sweep_submit.go", `if tasks < 1 || tasks > len(runs) {`, `if tasks < 1 || tasks > len(runs)+1 {`, "./cmd/regcl", cmdBounds},
	{"--parallel 0 accepted", "cmd/regcl/commands.go", `if err != nil || n < 1 {`, `if err != nil || n < 0 {`, "./cmd/regcl", "^TestParallelAuto$"},
	{"--lanes 0 accepted", "cmd/regcl/commands.go", `case n < 1:`, `case n < 0:`, "./cmd/regcl", "^TestLanes$"},
	{"--lanes 1025 accepted", "cmd/regcl/commands.go", `case n > device.MaxLanes:`, `case n > device.MaxLanes+1:`, "./cmd/regcl", "^TestLanes$"},
	{"bench --lanes 0 accepted", "cmd/regcl/bench.go", `l < 1 || l > device.MaxLanes {`, `l < 0 || l > device.MaxLanes {`, "./cmd/regcl", cmdBounds},
	{"bench --lanes 1025 accepted", "cmd/regcl/bench.go", `l < 1 || l > device.MaxLanes {`, `l < 1 || l > device.MaxLanes+1 {`, "./cmd/regcl", cmdBounds},
	{"plan --lanes 0 accepted", "cmd/regcl/plan.go", `lanes < 1 || lanes > device.MaxLanes {`, `lanes < 0 || lanes > device.MaxLanes {`, "./cmd/regcl", cmdBounds},
	{"plan --lanes 1025 accepted", "cmd/regcl/plan.go", `lanes < 1 || lanes > device.MaxLanes {`, `lanes < 1 || lanes > device.MaxLanes+1 {`, "./cmd/regcl", cmdBounds},
	{"described compute_units 0 accepted", "device/opencl/describefile.go", `bounds("compute_units", *d.ComputeUnits, 1, 1<<16)`, `bounds("compute_units", *d.ComputeUnits, 0, 1<<16)`, "./device/opencl", descBounds},
	{"described compute_units 65537 accepted", "device/opencl/describefile.go", `bounds("compute_units", *d.ComputeUnits, 1, 1<<16)`, `bounds("compute_units", *d.ComputeUnits, 1, 1<<16+1)`, "./device/opencl", descBounds},
	{"described local_mem 1 GiB + 1 accepted", "device/opencl/describefile.go", `size("local_mem", *d.LocalMem, 1, 1<<30)`, `size("local_mem", *d.LocalMem, 1, 1<<30+1)`, "./device/opencl", descBounds},
	{"described max_work_group_size 65537 accepted", "device/opencl/describefile.go", `bounds("max_work_group_size", *d.MaxWorkGroupSize, 1, 1<<16)`, `bounds("max_work_group_size", *d.MaxWorkGroupSize, 1, 1<<16+1)`, "./device/opencl", descBounds},

	// Which products take the direct kernels (kernels.Direct).
	{"the direct products one short of DIRECT", "kernels/contract.go", `return d > 0 && min(n, k) <= d`, `return d > 0 && min(n, k) < d`, "./kernels", "^TestDirect$"},
	{"a product small in K not taken direct", "kernels/contract.go", `return d > 0 && min(n, k) <= d`, `return d > 0 && n <= d`, "./kernels", "^TestDirect$"},

	// Split-K on the GPU variant (kernels.SplitK, gemm.cl's gemm_split_*).
	{"split-K stops one slice short of the units", "kernels/contract.go", `if sl, _ := cut(p); tiles*sl >= units {`, `if sl, _ := cut(p); tiles*sl > units {`, "./kernels", "^TestSplitK$"},
	{"a K-slice not a multiple of TSK", "kernels/contract.go", `d := ((k+p-1)/p + tsk - 1) / tsk * tsk`, `d := max(tsk, (k+p-1)/p)`, "./kernels", "^TestSplitK$"},
	{"split-K's finish drops the last slice", "kernels/gemm.cl", `for (int s = 1; s < slices; s++) r += P[s * mn + o];`, `for (int s = 1; s < slices - 1; s++) r += P[s * mn + o];`, "./device/opencl", "^TestSplitKConformance$"},
	{"split-K's fused dropout draws the wrong word", "kernels/gemm.cl", `o % 4 == 0 ? w.x : o % 4 == 1 ? w.y :`, `o % 4 == 0 ? w.y : o % 4 == 1 ? w.x :`, "./device/opencl", "^TestSplitKConformance$"},
	// The BatchNorm's backward pass carrying its input ReLU's (batchnorm.cl).
	{"the fused ReLU masks by dy (a column shared)", "kernels/batchnorm.cl", `v = RELU_KEPT(float, v, x[i]);`, `v = RELU_KEPT(float, v, dy[i]);`, "./device/opencl", "^TestConformanceGPUVariant$/^BatchNormBackward$"},
	{"the fused ReLU masks by dy (whole columns)", "kernels/batchnorm.cl", `v = RELU_KEPT(T, v, LD(x + i));`, `v = RELU_KEPT(T, v, LD(dy + i));`, "./device/opencl", "^TestConformance$/^BatchNormBackward$"},
	// The penalty adam leaves pending (adam.cl) and its fold (softmax.cl).
	{"the pending penalty over unpenalized weights", "kernels/adam.cl", `            if (e < pen) {
                a1 += fabs(wi);`, `            if (e < n) {
                a1 += fabs(wi);`, "./device/opencl", "^TestConformance$/^PendingPenalty$"},
	{"the pending penalty folded twice", "kernels/softmax.cl", `    pend[PEND_SCALE] = 0.0f;`, `    pend[PEND_SCALE] = sc;`, "./device/opencl", "^TestConformance$/^PendingPenalty$"},
	{"the pending penalty's last group left out", "kernels/adam.cl", `(float)((pen + PEN_PER - 1) / PEN_PER)`, `(float)(pen / PEN_PER)`, "./device/opencl", "^TestConformance$/^PendingPenalty$"},
	// softmax_xent's bias gradient (softmax.cl).
	{"the output bias gradient drops the last row", "kernels/softmax.cl", `for (int r = 0; r < rows; r++) b += dlogits[(long)r * classes + c];`, `for (int r = 0; r < rows - 1; r++) b += dlogits[(long)r * classes + c];`, "./device/opencl", "^TestConformance$/^SoftmaxXent$"},
	// Every product's dropout (gemm.cl).
	{"the CPU direct product's dropout skips the last column", "kernels/gemm.cl", `drop_block(C, N, i, min(MR, M - i), j0, min(VW, N - j0), DROP_PASS, drop);             \`, `drop_block(C, N, i, min(MR, M - i), j0, min(VW, N - j0) - 1, DROP_PASS, drop);         \`, "./device/opencl", "^TestConformance$/^GemmBiasAct$"},
	{"the GPU epilogue forgets the dropout", "kernels/gemm.cl", `C[o] = DROPPING ? drop_value(e_, o, DROP_PASS, drop) : e_;`, `C[o] = e_;`, "./device/opencl", "^TestConformanceGPUVariant$/^GemmBiasAct$"},

	// SetArg skips only a value the argument already holds.
	{"SetArg skips any argument set before", "device/opencl/cl/program.go", `if index < len(k.set) && k.set[index] == val {`, `if index < len(k.set) && k.set[index].valid {`, "./device/opencl/cl", "^TestSetArgOnlyWhenChanged$"},
	{"SetArg keeps the value of a failed call", "device/opencl/cl/program.go", `k.set[index] = argValue{} // unknown now`, `_ = index`, "./device/opencl/cl", "^TestSetArgOnlyWhenChanged$"},

	{"one kernel object for every call site", "device/opencl/backend.go", `const maxSites = 16`, `const maxSites = 0`, "./cmd/regcl", "^TestPlanMeasure$"},

	// plan --measure: each launch's profiled time goes to that launch.
	{"a launch's time given to the next launch", "device/opencl/backend.go", `rec = len(be.launches) - 1`, `rec = len(be.launches)`, "./device/opencl", "^TestProfiledLaunchesTimed$"},

	// The ops tuner's step at the network's sizes (tuner.NetOf).
	// The tuner times every kernel on every shape class before its random search.
	{"the tuner's kernel choices left to chance", "device/opencl/tuner/tuner.go", `for _, s := range g.ChoiceVariants(def, l) {`, `for _, s := range g.ChoiceVariants(def, l)[:0] {`, "./device/opencl/tuner", "^TestTunerRejectsWrongCandidates$"},
	{"the tuner's kernel choices out of order", "kernels/contract.go", `			if v == s[name] {
				continue
			}`, `			if v != s[name] {
				continue
			}`, "./kernels", "^TestChoiceVariants$"},
	{"the ops step tuned at the study's batch", "device/opencl/tuner/ops.go", `return Net{Rows: batch, Widths: widths,`, `return Net{Rows: 128, Widths: widths,`, "./device/opencl/tuner", "^TestOpsStepOfTheNetwork$"},

	// Softmax cross-entropy over more rows than a work-group (softmax.cl).
	{"softmax_xent_part's work-groups overlap", "kernels/softmax.cl", `off, g * WG_REDUCE, rows,`, `off, g * (WG_REDUCE - 1), rows,`, "./device/opencl", "^TestConformance$/^SoftmaxXent$"},
	{"the groups' sums lose the last group", "kernels/softmax.cl", `        p.x += part[2 * g];`, `        p.x += g < groups - 1 ? part[2 * g] : 0.0f;`, "./device/opencl", "^TestConformance$/^SoftmaxXent$"},
	{"split-K's slices overlap by one k", "kernels/gemm.cl", `kend = min(K, kbeg + depth);`, `kend = min(K, kbeg + depth + 1);`, "./device/opencl", "^TestSplitKConformance$"},

	// The grouping of a study's runs into lanes (package study).
	{"a group one run past --lanes", "study/run.go", `if len(grp) == q.lanes {`, `if len(grp) == q.lanes+1 {`, "./study", "^TestGroupLanesBound$"},
	{"a group planned for a full key", "study/run.go", `groups += (c + lanes - 1) / lanes`, `groups += (c + lanes) / lanes`, "./study", "^TestGroupLanesBound$"},
	{"runs at different positions grouped", "study/run.go", `if len(grp) > 0 && l.key != grp[0].key {`, `if false && len(grp) > 0 && l.key != grp[0].key {`, "./study", "^TestGroupResumedApart$"},
	{"the position left out of the group key", "study/run.go", `return train.GroupKey(cfg) + " @ " + pos`, `return train.GroupKey(cfg) + " @ " + pos[:0]`, "./study", "^TestGroupResumedApart$"},
	{"a run held elsewhere put in a group", "study/run.go", "\t\tif c.Held {\n\t\t\tl, err := q.d.openLane", "\t\tif true {\n\t\t\tl, err := q.d.openLane", "./study", "^TestGroupHeldRun$"},
	{"a diverged run's error dropped", "study/run.go", `case errors.Is(r.Err, train.ErrInterrupted):`, `case r.Err != nil:`, "./study", "^TestGroupLaneDiverges$"},
	{"--lanes 1025 accepted by Run", "study/run.go", `opt.Lanes < 0 || opt.Lanes > device.MaxLanes {`, `opt.Lanes < 0 || opt.Lanes > device.MaxLanes+1 {`, "./study", "^TestRunLanesBound$"},
	{"--lanes 1024 refused by Run", "study/run.go", `opt.Lanes < 0 || opt.Lanes > device.MaxLanes {`, `opt.Lanes < 0 || opt.Lanes >= device.MaxLanes {`, "./study", "^TestRunLanesBound$"},
	{"two methods merged into one run", "cmd/regcl/compare.go", `ok && p.Preset != cfg.Preset {`, `ok && p.Preset != cfg.Preset && false {`, "./cmd/regcl", "^TestCompareKeepsMethodsApart$"},
	{"p = 0.05 a real difference", "report/markdown.go", `if p < Significance {`, `if p <= Significance {`, "./report", "^TestVerdict$"},
	{"Student t interval for an accuracy", "report/stats.go", `return wilson(mean, sd*sd/float64(n), tQuantile975(n-1))`, `return mean - tQuantile975(n-1)*sd/math.Sqrt(float64(n)), mean + tQuantile975(n-1)*sd/math.Sqrt(float64(n))`, "./report", "^(TestWilsonCI95|TestWilsonStaysInside)$"},
	{"the study's figure compared across setups", "report/summary.go", `d = append(d, strings.Split(g.cfg.Overrides.Label(""), "+")[1:]...)`, `d = append(d, strings.Split(g.over.Label(""), "+")[1:]...)`, "./report", "^TestStudyComparisonNeedsTheStudysSetup$"},
	{"unverified data compared with the study", "report/summary.go", `if r.UnverifiedData {`, `if r.UnverifiedData && false {`, "./report", "^TestStudyComparisonNeedsTheStudysSetup$"},
}

func main() {
	jobs := flag.Int("j", 2, "mutants tested side by side")
	only := flag.String("only", "", "comma-separated mutant names to test (default all)")
	flag.Parse()
	root, err := os.Getwd()
	if err != nil {
		fatal(err)
	}
	todo := mutants
	if *only != "" {
		todo = nil
		for _, m := range mutants {
			for _, n := range strings.Split(*only, ",") {
				if m.Name == strings.TrimSpace(n) {
					todo = append(todo, m)
				}
			}
		}
	}
	// Every mutant must still apply before any is run.
	for _, m := range todo {
		b, err := os.ReadFile(filepath.Join(root, m.File))
		if err != nil {
			fatal(fmt.Errorf("mutant %q: %w", m.Name, err))
		}
		if n := bytes.Count(b, []byte(m.Old)); n != 1 {
			fatal(fmt.Errorf("mutant %q no longer applies: %s holds its code %d times, want once (update the mutant with the code)", m.Name, m.File, n))
		}
	}
	// Scratch copies of the tree, one per worker.
	scratch := make([]string, max(1, *jobs))
	for i := range scratch {
		if scratch[i], err = copyTree(root); err != nil {
			fatal(err)
		}
		defer os.RemoveAll(scratch[i])
	}
	start := time.Now()
	results := make([]string, len(todo))
	survived := make([]bool, len(todo))
	var wg sync.WaitGroup
	next := make(chan int)
	for w := range scratch {
		wg.Add(1)
		go func(dir string) {
			defer wg.Done()
			for i := range next {
				results[i], survived[i] = run(dir, todo[i])
				fmt.Println(results[i])
			}
		}(scratch[w])
	}
	for i := range todo {
		next <- i
	}
	close(next)
	wg.Wait()
	n := 0
	for _, s := range survived {
		if s {
			n++
		}
	}
	fmt.Printf("%d killed, %d survived (%s in %s)\n", len(todo)-n, n, plural.Count(len(todo), "mutant", "mutants"), time.Since(start).Round(time.Second))
	if n > 0 {
		os.Exit(1)
	}
}

var failLine = regexp.MustCompile(`(?m)^\s*--- FAIL: (\S+)`)

// run applies m in dir, runs its tests and restores the file.
func run(dir string, m mutant) (string, bool) {
	path := filepath.Join(dir, m.File)
	orig, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("ERROR    %s: %v", m.Name, err), true
	}
	defer os.WriteFile(path, orig, 0o644)
	if err := os.WriteFile(path, bytes.Replace(orig, []byte(m.Old), []byte(m.New), 1), 0o644); err != nil {
		return fmt.Sprintf("ERROR    %s: %v", m.Name, err), true
	}
	args := append([]string{"test", "-count=1", "-run", m.Run}, strings.Fields(m.Pkg)...)
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CI=1")
	out, err := cmd.CombinedOutput()
	if err == nil {
		return fmt.Sprintf("SURVIVED %s (%s: go %s passed)", m.Name, m.File, strings.Join(args, " ")), true
	}
	var killers []string
	seen := map[string]bool{}
	for _, f := range failLine.FindAllStringSubmatch(string(out), -1) {
		top := strings.SplitN(f[1], "/", 2)[0]
		if !seen[top] {
			seen[top] = true
			killers = append(killers, top)
		}
	}
	sort.Strings(killers)
	if len(killers) == 0 { // a build failure is not a kill: the mutant must compile
		return fmt.Sprintf("SURVIVED %s: the mutated tree does not build or no test failed:\n%s", m.Name, tail(string(out), 10)), true
	}
	return fmt.Sprintf("killed   %-42s by %s", m.Name, strings.Join(killers, ", ")), false
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// copyTree copies the files git knows of (tracked and untracked, not
// ignored) into a temporary folder.
func copyTree(root string) (string, error) {
	out, err := exec.Command("git", "-C", root, "ls-files", "-co", "--exclude-standard", "-z").Output()
	if err != nil {
		return "", fmt.Errorf("listing the tree with git: %w", err)
	}
	dir, err := os.MkdirTemp("", "regcl-mutants-")
	if err != nil {
		return "", err
	}
	for _, f := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		if f == "" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			if os.IsNotExist(err) { // deleted in the work tree
				continue
			}
			return "", err
		}
		dst := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			return "", err
		}
	}
	return dir, nil
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "mutants:", err)
	os.Exit(1)
}
