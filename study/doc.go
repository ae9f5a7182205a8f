// Package study owns a study folder: every name in it, and the running of a
// list of runs into it. A study folder (regcl compare --out, regcl sweep
// --out, regcl report --in) holds
//
//	runs/<id>.json           one record per finished run (train.Result), written atomically
//	running/<id>             the claim of a run in progress (Dir.Claim): its owner's host, pid, start time
//	checkpoints/<id>/        the checkpoints of a run in progress or interrupted (removed when it finishes)
//	sweep/grid-<hash>.yaml   the copy of a grid a Slurm job array runs, and sweep/sweep.sbatch, its script
//	slurm/<job>_<task>.out   the logs of the array's tasks
//	results_summary.csv, comparison.csv, report.md, assets/*.png
//	                         the report (package report draws it from the records)
//
// where <id> is train.Config.ID, "<hash>-s<seed>". A single run (regcl train
// --output DIR/run_result.csv) treats DIR as a study folder: it writes
// DIR/runs/<id>.json (so that regcl report reads it), DIR/<id>_history.csv
// and, interrupted without a checkpoint folder, DIR/checkpoints/<id>/
// (SingleRun).
//
// Dir.Run trains a list of configurations: runs already recorded are
// skipped, runs that can share a computation (the same network shape and
// training settings, starting from the same point) train together as the
// lanes of one group (train.RunGroup), an interrupted run continues from its
// checkpoint, and Ctrl-C leaves checkpoints to go on from. "Is this run done" is Dir.Done,
// and nothing else answers it. A run is claimed (Dir.Claim) before it is
// trained, so that processes sharing the folder train it once; a claim
// whose owner is gone is taken over (claim.go says how that is told).
// CheckWritable checks, before any work, that the folder can be written.
//
// Folders of older regcl versions named runs by a label and a hash of the
// whole configuration ("l1+l1=0.0001-25fd6720a8-s1"). Their records and
// checkpoints are still read: Dir indexes them by the ID of the
// configuration they hold, so such a run counts as done (or resumes from its
// checkpoint) under its new ID, and is never trained again.
//
// Imports run cmd -> sweep, report -> study -> train; study never imports
// report.
package study
