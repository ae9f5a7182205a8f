// Package sweep expands a grid of settings into training runs, splits them
// into disjoint shards for the tasks of a Slurm job array (or a Kubernetes
// Indexed Job), and writes and submits the sbatch script. It has no scheduler
// of its own: every task runs `regcl sweep run`, which trains its shard's
// runs into a shared output folder, one record per run, written atomically,
// skipping runs already there. `regcl report` then merges the records.
package sweep
