// Package report turns the run records of a study into statistics, plots
// and a written report: a pure function of the records. It trains nothing
// and knows no folder names: Generate takes the records and the paths to
// write (Output); FromStudy takes them from a study.Dir, whose records and
// file names package study owns.
//
// Runs are grouped by method, read from the records' fields: the preset and
// its overrides, without the training settings every record shares
// (train.StudyLabels), so a compare on 1,000 images shows "l1" and a sweep
// over λ1 shows "dropout+l1=1e-05". The strength of a penalty family comes
// from the configurations (Config.Model.L1), not from a label. It writes
//
//	results_summary.csv  method,test_accuracy,note: the reference study's shape,
//	                     with the mean over seeds
//	comparison.csv       per method: runs, mean, sd and 95 % confidence interval
//	                     of the test accuracy, test loss, generalization gap,
//	                     share of near-zero weights, seconds per epoch
//	assets/*.png         learning curves per method, validation accuracy of
//	                     every method, test accuracy with confidence intervals,
//	                     and the distribution of hidden-kernel weights
//	report.md            the setup, the table, the plots and Welch t-tests
//	                     between methods
//
// The statistics follow the usual small-sample recipes: the sample standard
// deviation (n−1); for the mean accuracy, a proportion, Wilson's score
// interval with the effective number of trials that the seeds' spread
// implies and Student's t quantile, which stays inside [0, 1] (WilsonCI95;
// WilsonPI95 for where one more run falls); and Welch's unequal-variance
// t-test with the Welch–Satterthwaite degrees of freedom. They use gonum's
// stat and distuv packages.
//
// The reference study's figures (Reported) are compared only with methods
// whose runs have the study's own setup; for a method trained otherwise the
// report says how its setup differs instead.
//
// Every file but the PNGs is a pure function of the records: generating the
// report again from the same records gives the same bytes.
package report
