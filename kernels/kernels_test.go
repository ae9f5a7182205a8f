package kernels

import (
	"strings"
	"testing"
)

func TestSourceHasEveryFileAndKernel(t *testing.T) {
	src := Source()
	for _, f := range Files {
		if !strings.Contains(src, `#line 1 "`+f+`"`) {
			t.Errorf("Source lacks %s", f)
		}
	}
	for _, k := range []string{"gather_rows", "bias_act", "dropout_apply", "relu_backward", "col_sum",
		"gemm_nn", "gemm_nt", "gemm_nt_bcast", "gemm_tn", "gemm_tt", "bn_train", "bn_infer", "bn_backward",
		"softmax_xent", "penalty_sum", "adam"} {
		if !strings.Contains(src, " "+k+"(") && !strings.Contains(src, "GEMM_KERNEL("+k+",") {
			t.Errorf("Source lacks kernel %s", k)
		}
	}
	entries, _ := files.ReadDir(".")
	if len(entries) != len(Files) {
		t.Errorf("%d embedded .cl files but Files lists %d: keep them in step", len(entries), len(Files))
	}
}
