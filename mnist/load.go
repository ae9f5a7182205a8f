package mnist

import (
	"bytes"
	"fmt"
	"sync"

	"github.com/regcl/regcl/internal/readfile"
)

// Options says where to load from and whether to check hashes.
type Options struct {
	// Dir is the folder given with --data; empty to look in the usual
	// places (see Locate).
	Dir string
	// NoVerify skips the SHA-256 check, so that other IDX data sets of the
	// same shape (Fashion-MNIST, for instance) stored under the canonical
	// names can be used. The files may then also be uncompressed.
	NoVerify bool
}

// Data is MNIST held in memory.
type Data struct {
	Train, Test *Set
	Dir         string // the folder it was read from
	Source      string // SourceFlag, SourceEnv, SourceCache or SourceModule
	Verified    bool   // the SHA-256 of every file was checked
}

// Load locates the four files (see Locate), checks their SHA-256 unless
// opts.NoVerify is set, and reads and validates them.
func Load(opts Options) (*Data, error) {
	loc, err := Locate(opts.Dir)
	if err != nil {
		return nil, err
	}
	paths := loc.Paths
	if len(paths) != 4 || len(Files) != 4 {
		return nil, fmt.Errorf("mnist: Files must list 4 files (train images, train labels, test images, test labels), it lists %d", len(Files))
	}

	type result struct {
		dims []int
		data []byte
		err  error
	}
	res := make([]result, len(paths))
	var wg sync.WaitGroup
	for i := range paths {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &res[i]
			r.dims, r.data, r.err = loadFile(paths[i], Files[i], !opts.NoVerify, i%2 == 0)
		}()
	}
	wg.Wait()
	for _, r := range res {
		if r.err != nil {
			return nil, r.err
		}
	}
	train, err := newSet(paths[0], paths[1], res[0].data, res[0].dims[0], res[0].dims[1], res[0].dims[2], res[1].data)
	if err != nil {
		return nil, err
	}
	test, err := newSet(paths[2], paths[3], res[2].data, res[2].dims[0], res[2].dims[1], res[2].dims[2], res[3].data)
	if err != nil {
		return nil, err
	}
	return &Data{Train: train, Test: test, Dir: loc.Dir, Source: loc.Source, Verified: !opts.NoVerify}, nil
}

// loadFile reads one file, images or labels. When verify is set it reads
// the bytes once, hashes them and decodes those same bytes.
// MaxDataFile bounds a data file read whole to check its hash: MNIST's
// largest, the training images, is 47 MB raw and 9.9 MB gzipped.
const MaxDataFile = 256 << 20

func loadFile(path string, f File, verify, images bool) ([]int, []byte, error) {
	k := labelsKind
	if images {
		k = imagesKind
	}
	if !verify {
		return readFile(path, k)
	}
	raw, err := readfile.Max(path, MaxDataFile, "an MNIST file")
	if err != nil {
		return nil, nil, fmt.Errorf("mnist: %w", err)
	}
	if got := hashBytes(raw); got != f.SHA256 {
		return nil, nil, hashError(path, f, got)
	}
	return decode(path, bytes.NewReader(raw), int64(len(raw)), k)
}
