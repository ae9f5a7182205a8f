package sweep

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/regcl/regcl/train"
)

// Shard is slice I of N (0 ≤ I < N).
type Shard struct{ I, N int }

func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.I, s.N) }

// ParseShard parses "I/N".
func ParseShard(s string) (Shard, error) {
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(strings.TrimSpace(a))
	n, err2 := strconv.Atoi(strings.TrimSpace(b))
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return Shard{}, fmt.Errorf("shard %q: want I/N with 0 ≤ I < N", s)
	}
	return Shard{i, n}, nil
}

// Select returns the runs of shard s: every N-th run from the I-th, so the
// shards are disjoint, cover the grid, and each gets a mix of its methods.
func (s Shard) Select(runs []train.Config) []train.Config {
	var out []train.Config
	for i := s.I; i < len(runs); i += s.N {
		out = append(out, runs[i])
	}
	return out
}

// ShardFromEnv reads the slice of a scheduler's task: Slurm job arrays
// (SLURM_ARRAY_TASK_ID with SLURM_ARRAY_TASK_COUNT, or with
// SLURM_ARRAY_TASK_MIN and SLURM_ARRAY_TASK_MAX), or a Kubernetes Indexed Job
// (JOB_COMPLETION_INDEX, with count giving the number of completions).
func ShardFromEnv(getenv func(string) string, count int) (Shard, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	num := func(name string) (int, bool, error) {
		v := getenv(name)
		if v == "" {
			return 0, false, nil
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0, true, fmt.Errorf("%s=%q is not an integer", name, v)
		}
		return n, true, nil
	}
	if id, ok, err := num("SLURM_ARRAY_TASK_ID"); ok || err != nil {
		if err != nil {
			return Shard{}, err
		}
		lo, hasMin, err := num("SLURM_ARRAY_TASK_MIN")
		if err != nil {
			return Shard{}, err
		}
		hi, hasMax, err := num("SLURM_ARRAY_TASK_MAX")
		if err != nil {
			return Shard{}, err
		}
		n, hasCount, err := num("SLURM_ARRAY_TASK_COUNT")
		if err != nil {
			return Shard{}, err
		}
		switch {
		case hasMin && hasMax:
			// Arrays with a step (--array=0-15:4) are not contiguous; regcl
			// writes plain ranges, and MIN..MAX gives the task's position.
			if !hasCount {
				n = hi - lo + 1
			}
			return checkShard(Shard{id - lo, n}, "SLURM_ARRAY_TASK_ID")
		case hasCount:
			return checkShard(Shard{id, n}, "SLURM_ARRAY_TASK_ID")
		}
		return Shard{}, fmt.Errorf("SLURM_ARRAY_TASK_ID is set but neither SLURM_ARRAY_TASK_COUNT nor SLURM_ARRAY_TASK_MIN/MAX is")
	}
	if id, ok, err := num("JOB_COMPLETION_INDEX"); ok || err != nil {
		if err != nil {
			return Shard{}, err
		}
		if count < 1 {
			return Shard{}, fmt.Errorf("JOB_COMPLETION_INDEX is set: give the number of completions with --count")
		}
		return checkShard(Shard{id, count}, "JOB_COMPLETION_INDEX")
	}
	return Shard{}, fmt.Errorf("no --shard given and no scheduler task found in the environment (SLURM_ARRAY_TASK_ID, JOB_COMPLETION_INDEX)")
}

func checkShard(s Shard, from string) (Shard, error) {
	if s.N < 1 || s.I < 0 || s.I >= s.N {
		return Shard{}, fmt.Errorf("%s gives task %d of %d, outside the array", from, s.I, s.N)
	}
	return s, nil
}
