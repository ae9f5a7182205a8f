package suggest

import "testing"

// TestNearest: distances worked out by hand; a name counts as meant up to a
// third of the longer word's length in edits (at least one), and not past it.
func TestNearest(t *testing.T) {
	keys := []string{"model", "l1", "l2", "dropout", "batch_norm", "hidden", "lr", "epochs", "batch_size", "train_size", "validation_split", "seeds"}
	for _, c := range []struct {
		word, want string
		ok         bool
	}{
		{"l1s", "l1", true},               // one insertion; limit max(1, 3/3) = 1
		{"epoch", "epochs", true},         // one deletion; limit 6/3 = 2
		{"Seeds", "seeds", true},          // case ignored: distance 0
		{"batchsize", "batch_size", true}, // one insertion; limit 10/3 = 3
		{"dropuot", "dropout", true},      // two substitutions; limit 7/3 = 2
		{"droppppt", "dropout", false},    // three edits; limit 8/3 = 2
		{"learning_rate", "l1", false},    // far from everything
		{"x", "l1", false},                // distance 2 from "l1", "l2" and "lr": limit 1
		{"l3", "l1", true},                // one substitution; ties go to the first listed
		{"hiden", "hidden", true},
		{"modle", "model", true}, // one swap; limit 5/3 = 1
	} {
		got, ok := Nearest(c.word, keys)
		if ok != c.ok || (ok && got != c.want) {
			t.Errorf("Nearest(%q) = %q, %v; want %q, %v", c.word, got, ok, c.want, c.ok)
		}
	}
	for _, c := range []struct {
		a, b string
		d    int
	}{{"kitten", "sitting", 3}, {"ca", "abc", 3}, {"abcd", "acbd", 1}, {"", "abc", 3}, {"same", "same", 0}} {
		if d := distance([]rune(c.a), []rune(c.b)); d != c.d {
			t.Errorf("distance(%q, %q) = %d, want %d", c.a, c.b, d, c.d)
		}
	}
	if _, ok := Nearest("a", nil); ok {
		t.Error("a suggestion from no names")
	}
}
