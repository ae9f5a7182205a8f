package mnist

import (
	"errors"
	"runtime/metrics"
	"testing"
)

// heapAllocated is the number of bytes allocated on the heap so far.
func heapAllocated() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// allocBound is what reading data may allocate: a fixed amount for the
// readers plus a few times the most data the input can hold, whatever its
// header claims.
func allocBound(data []byte) uint64 {
	most := uint64(len(data))
	if isGzip(data) {
		most *= maxDeflateRatio
	}
	return 4<<20 + 4*most
}

// FuzzReadIDX feeds arbitrary bytes, gzipped or not, to the images and the
// labels parsers: they must not panic, must return either valid data or an
// error (never both), and must not allocate beyond what the input can hold.
func FuzzReadIDX(f *testing.F) {
	f.Add(imagesIDX(1, Rows, Cols, 0))
	f.Add(gz(f, imagesIDX(2, Rows, Cols, 1)))
	f.Add(labelsIDX(5, 0))
	f.Add(gz(f, labelsIDX(5, 3)))
	f.Add(cat(idxHeader(ImagesMagic, 1<<31, 28, 28), []byte{1, 2, 3}))
	f.Add(cat(gz(f, labelsIDX(2, 0)), []byte{0}))
	f.Fuzz(func(t *testing.T, data []byte) {
		before := heapAllocated()
		px, n, rows, cols, err := ParseImages("fuzz", data)
		if used := heapAllocated() - before; used > allocBound(data) {
			t.Fatalf("ParseImages allocated %d bytes for %d input bytes", used, len(data))
		}
		if err != nil {
			if px != nil || n != 0 || rows != 0 || cols != 0 {
				t.Fatalf("ParseImages returned data (%d bytes, %d×%d×%d) with error %v", len(px), n, rows, cols, err)
			}
			checkFuzzErr(t, err)
		} else if n <= 0 || rows != Rows || cols != Cols || len(px) != n*rows*cols {
			t.Fatalf("ParseImages = %d bytes, %d×%d×%d", len(px), n, rows, cols)
		}

		before = heapAllocated()
		labels, err := parseLabels("fuzz", data)
		if used := heapAllocated() - before; used > allocBound(data) {
			t.Fatalf("parseLabels allocated %d bytes for %d input bytes", used, len(data))
		}
		if err != nil {
			if labels != nil {
				t.Fatalf("parseLabels returned %d labels with error %v", len(labels), err)
			}
			checkFuzzErr(t, err)
			return
		}
		if len(labels) == 0 {
			t.Fatal("parseLabels returned no labels and no error")
		}
		for _, l := range labels {
			if l > 9 {
				t.Fatalf("label %d out of range", l)
			}
		}
	})
}

// checkFuzzErr checks that a parse error is a FileError of a known kind.
func checkFuzzErr(t *testing.T, err error) {
	t.Helper()
	var fe *FileError
	if !errors.As(err, &fe) || fe.Path != "fuzz" {
		t.Fatalf("error %v is not a *FileError naming the input", err)
	}
	for _, k := range []error{ErrBadMagic, ErrBadShape, ErrBadLabel, ErrTruncated, ErrTrailing, ErrCorrupt} {
		if errors.Is(err, k) {
			return
		}
	}
	t.Fatalf("error %v is of no known kind", err)
}
