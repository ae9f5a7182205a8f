// Package sweep is grids, shards and Slurm: it expands a grid of settings
// into training runs (train.NewConfig of each preset with the grid's values
// as overrides, so a run has the ID and label any command gives it), splits
// them into disjoint shards for the tasks of a Slurm job array (or a
// Kubernetes Indexed Job), and writes and submits the sbatch script. It has
// no scheduler of its own and no folder of its own: every task runs `regcl
// sweep run`, which has package study train its shard's runs into a shared
// study folder, one record per run, written atomically, skipping runs already
// there; Count asks the study which runs are done. `regcl report` then draws
// the records.
package sweep
