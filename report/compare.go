package report

import (
	"context"
	"fmt"

	"github.com/regcl/regcl/train"
)

// CompareOptions is a whole study: every method for several seeds.
type CompareOptions struct {
	Configs []train.Config // one per (method, seed), e.g. from StudyConfigs
	Many    train.ManyOptions
}

// StudyConfigs expands methods × seeds 1..seeds with base settings applied
// by mk (which returns the configuration of one method and seed).
func StudyConfigs(methods []string, seeds int, mk func(method string, seed uint64) (train.Config, error)) ([]train.Config, error) {
	if len(methods) == 0 {
		return nil, fmt.Errorf("no methods to compare")
	}
	if seeds < 1 {
		return nil, fmt.Errorf("seeds must be at least 1, got %d", seeds)
	}
	var out []train.Config
	for _, m := range methods {
		for s := 1; s <= seeds; s++ {
			c, err := mk(m, uint64(s))
			if err != nil {
				return nil, fmt.Errorf("%s: %w", m, err)
			}
			out = append(out, c)
		}
	}
	return out, nil
}

// Compare trains every configuration not finished yet under the output
// folder, then writes the summary, plots and report from all its records.
// It returns the summary and how many runs it trained.
func Compare(ctx context.Context, opt CompareOptions) (*Summary, int, error) {
	trained, err := train.RunMany(ctx, opt.Configs, opt.Many)
	if err != nil {
		return nil, trained, err
	}
	sum, err := Generate(opt.Many.Out)
	return sum, trained, err
}
