package plural

import "strconv"

// Word is one when n is 1 (or −1), else many: the noun for a count of n.
func Word(n int, one, many string) string {
	if n == 1 || n == -1 {
		return one
	}
	return many
}

// Count is n followed by its noun: Count(1, "run", "runs") is "1 run",
// Count(2, "run", "runs") is "2 runs".
func Count(n int, one, many string) string {
	return strconv.Itoa(n) + " " + Word(n, one, many)
}
