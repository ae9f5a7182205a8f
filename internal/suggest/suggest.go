package suggest

import "strings"

// Nearest returns the name of names closest to word by edit distance
// (insertions, deletions, substitutions and swaps of two neighbouring
// characters, one edit each; case ignored), and whether it is close enough
// to be what was meant: at most a third of the longer word's length away,
// and at least 1. Ties go to the name listed first.
func Nearest(word string, names []string) (string, bool) {
	best, bestD := "", -1
	w := []rune(strings.ToLower(word))
	for _, n := range names {
		d := distance(w, []rune(strings.ToLower(n)))
		if bestD < 0 || d < bestD {
			best, bestD = n, d
		}
	}
	if bestD < 0 {
		return "", false
	}
	limit := max(1, max(len(w), len([]rune(best)))/3)
	return best, bestD <= limit
}

// distance is the optimal string alignment distance of a and b: the
// Levenshtein distance with a swap of two neighbouring characters counted as
// one edit.
func distance(a, b []rune) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
