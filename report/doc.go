// Package report turns the run records of a study into statistics, plots
// and a written report.
//
// Generate reads every record under a study's output folder (DIR/runs/*.json,
// as train.RunMany writes them), groups the runs by method and writes into
// DIR:
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
// deviation (n−1), Student's t confidence interval for the mean, and Welch's
// unequal-variance t-test with the Welch–Satterthwaite degrees of freedom.
// MeanSD, CI95 and Welch compute them with gonum's stat and distuv packages.
//
// Every file but the PNGs is a pure function of the records: generating the
// report again from the same records gives the same bytes.
package report
