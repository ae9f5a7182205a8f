package mnist

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/regcl/regcl/internal/plural"
)

// Rows and Cols are the height and width of an MNIST image. The readers
// accept no other size.
const (
	Rows = 28
	Cols = 28
)

// Magic numbers of the two IDX files MNIST uses: unsigned bytes (0x08) in
// three dimensions (images) or one (labels).
const (
	ImagesMagic = 0x00000803
	LabelsMagic = 0x00000801
)

const (
	// maxDeflateRatio bounds how many bytes deflate can produce from one
	// compressed byte (258-byte matches coded in two bits). It only sizes
	// first allocations; reading still grows the buffer as data arrives.
	maxDeflateRatio = 1032
	// firstChunk is the smallest buffer allocated for the data.
	firstChunk = 64 << 10
	// trailingProbe bounds how many trailing bytes are counted for the
	// error message.
	trailingProbe = 1 << 20
)

// MaxItems bounds the number of images or labels an IDX header may
// declare: MNIST has 70,000, EMNIST 814,255. A header claiming more is
// refused before any data is read, so that a small gzip file cannot make
// the reader grow its buffer to the 3 TB that 2³² images of 28×28 would
// take (a gzip bomb); 2²⁰ images are 822 MB.
const MaxItems = 1 << 20

// Set is one split of MNIST held in memory.
type Set struct {
	Images     []uint8 // N×Rows×Cols bytes, row-major, image i at Images[i*Rows*Cols:]
	Labels     []uint8 // N labels 0..9
	N          int
	Rows, Cols int
}

// kind describes what an IDX file should hold.
type kind struct {
	magic uint32
	what  string // "images" or "labels"
}

var (
	imagesKind = kind{ImagesMagic, "images"}
	labelsKind = kind{LabelsMagic, "labels"}
)

// ParseImages reads an MNIST images file already in memory (IDX, gzipped
// or raw: gzip is recognised by its magic bytes, not by the name), for
// predict. It returns the pixels of the n images, row-major, rows×cols bytes
// each; rows and cols are always 28. On error nothing else is returned;
// name is used in error messages.
func ParseImages(name string, data []byte) (images []uint8, n, rows, cols int, err error) {
	dims, px, err := decode(name, bytes.NewReader(data), int64(len(data)), imagesKind)
	if err != nil {
		return nil, 0, 0, 0, err
	}
	return px, dims[0], dims[1], dims[2], nil
}

func newSet(imagesPath, labelsPath string, images []uint8, n, rows, cols int, labels []uint8) (*Set, error) {
	if len(labels) != n {
		return nil, fileErr(imagesPath, ErrCountMismatch,
			"it holds %s but %s holds %s", plural.Count(n, "image", "images"), labelsPath, plural.Count(len(labels), "label", "labels"))
	}
	return &Set{Images: images, Labels: labels, N: n, Rows: rows, Cols: cols}, nil
}

// readFile opens path and decodes it, using the file size to bound the
// first allocation.
func readFile(path string, k kind) ([]int, []byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("mnist: %w", err)
	}
	defer f.Close()
	size := int64(-1)
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		size = fi.Size()
	}
	return decode(path, f, size, k)
}

// errGzipTrailing reports bytes after a gzip member that do not start
// another member.
var errGzipTrailing = errors.New("data after the end of the gzip stream")

// source reads the IDX bytes of a file, decompressing it when it starts
// with the gzip magic. Concatenated gzip members are read as one stream
// (as gunzip does); anything else after a member is reported as
// errGzipTrailing.
type source struct {
	br *bufio.Reader
	gz *gzip.Reader // nil for a raw file
}

func newSource(r io.Reader) (*source, error) {
	br := bufio.NewReaderSize(r, 32<<10)
	s := &source{br: br}
	if head, _ := br.Peek(2); isGzip(head) {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, err
		}
		gz.Multistream(false)
		s.gz = gz
	}
	return s, nil
}

func isGzip(b []byte) bool { return len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b }

func (s *source) Read(p []byte) (int, error) {
	if s.gz == nil {
		return s.br.Read(p)
	}
	for {
		n, err := s.gz.Read(p)
		if err != io.EOF {
			return n, err
		}
		// End of a member, its CRC-32 and length checked. Another member?
		next, perr := s.br.Peek(2)
		switch {
		case len(next) == 0 && perr == io.EOF:
			return n, io.EOF
		case len(next) == 0:
			return n, perr
		case !isGzip(next):
			return n, errGzipTrailing
		}
		if err := s.gz.Reset(s.br); err != nil {
			return n, err
		}
		s.gz.Multistream(false)
		if n > 0 {
			return n, nil
		}
	}
}

// decoder holds what the error messages need.
type decoder struct {
	path string
	src  *source
}

// classify turns a read error into a FileError; truncated builds the
// message for an input that ends early.
func (d *decoder) classify(err error, truncated func() *FileError) error {
	var corrupt flate.CorruptInputError
	switch {
	case errors.Is(err, gzip.ErrChecksum):
		return fileErr(d.path, ErrCorrupt, "gzip checksum error: the CRC-32 or length in the gzip trailer does not match the data").withCause(err)
	case errors.Is(err, gzip.ErrHeader):
		return fileErr(d.path, ErrCorrupt, "invalid gzip header").withCause(err)
	case errors.As(err, &corrupt):
		return fileErr(d.path, ErrCorrupt, "invalid deflate data at compressed byte %d", int64(corrupt)).withCause(err)
	case errors.Is(err, errGzipTrailing):
		n, _ := io.Copy(io.Discard, io.LimitReader(d.src.br, trailingProbe))
		return fileErr(d.path, ErrTrailing, "%s after the end of the gzip stream", countBytes(n, n == trailingProbe))
	case err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF):
		return truncated()
	}
	var fe *FileError
	if errors.As(err, &fe) {
		return err
	}
	return fmt.Errorf("mnist: %s: read error: %w", d.path, err)
}

func countBytes(n int64, orMore bool) string {
	s := fmt.Sprintf("%d %s", n, plural.Word(int(n), "byte", "bytes"))
	if orMore {
		s += " (or more)"
	}
	return s
}

// decode reads one IDX file of kind k from r and validates it completely.
// size is the number of bytes r holds (-1 if unknown); it bounds the first
// allocation, so that a header announcing billions of items costs nothing
// unless the data is really there.
func decode(path string, r io.Reader, size int64, k kind) (dims []int, data []byte, err error) {
	src, err := newSource(r)
	d := &decoder{path: path, src: src}
	if err != nil {
		return nil, nil, d.classify(err, func() *FileError {
			return fileErr(path, ErrTruncated, "the file ends inside its gzip header")
		})
	}
	where := "the file"
	if src.gz != nil {
		where = "the decompressed data"
	}

	// Magic number.
	var head [4]byte
	if n, err := io.ReadFull(src, head[:]); err != nil {
		return nil, nil, d.classify(err, func() *FileError {
			if n == 0 && src.gz == nil {
				return fileErr(path, ErrTruncated, "the file is empty")
			}
			return fileErr(path, ErrTruncated, "%s ends after %s, inside the 4-byte IDX magic number", where, countBytes(int64(n), false))
		})
	}
	magic := binary.BigEndian.Uint32(head[:])
	if err := checkMagic(path, magic, k); err != nil {
		return nil, nil, err
	}
	ndims := int(magic & 0xff)
	hdr := 4 + 4*ndims

	// Dimensions.
	raw := make([]byte, 4*ndims)
	if n, err := io.ReadFull(src, raw); err != nil {
		return nil, nil, d.classify(err, func() *FileError {
			return fileErr(path, ErrTruncated, "%s ends inside the %d-byte IDX header, after %d bytes", where, hdr, 4+n)
		})
	}
	dims = make([]int, ndims)
	total := int64(1)
	for i := range dims {
		v := binary.BigEndian.Uint32(raw[4*i:])
		dims[i] = int(v)
		total *= int64(v) // at most (2^32-1)·28·28: no overflow
	}
	if k == imagesKind {
		if dims[1] != Rows || dims[2] != Cols {
			return nil, nil, fileErr(path, ErrBadShape, "images are %d×%d, want %d×%d", dims[1], dims[2], Rows, Cols)
		}
	}
	if dims[0] == 0 {
		return nil, nil, fileErr(path, ErrBadShape, "the header says 0 %s", k.what)
	}
	if dims[0] > MaxItems {
		return nil, nil, fileErr(path, ErrBadShape, "the header says %d %s, more than the %d this reader takes", dims[0], k.what, MaxItems)
	}
	if total > math.MaxInt {
		return nil, nil, fileErr(path, ErrBadShape, "the header says %d %s (%d bytes), too many for this platform", dims[0], k.what, total)
	}
	items := plural.Count(dims[0], "label", "labels")
	if k == imagesKind {
		items = fmt.Sprintf("%s of %d×%d", plural.Count(dims[0], "image", "images"), dims[1], dims[2])
	}
	declared := fmt.Sprintf("header says %s (%s)", items, countBytes(total, false))

	// Data: grow the buffer as bytes arrive. The first allocation is at
	// most what the input can hold (when its size is known), never what the
	// header claims.
	first := min(total, firstChunk)
	if size >= 0 {
		avail := size - int64(hdr)
		if src.gz != nil {
			avail = size
			if avail < math.MaxInt64/maxDeflateRatio {
				avail *= maxDeflateRatio
			}
		}
		first = max(first, min(total, avail))
	}
	data = make([]byte, 0, first)
	for int64(len(data)) < total {
		if len(data) == cap(data) {
			grown := make([]byte, len(data), min(total, 2*int64(cap(data))))
			copy(grown, data)
			data = grown
		}
		n, err := src.Read(data[len(data):cap(data)])
		data = data[:len(data)+n]
		if err == io.EOF && int64(len(data)) == total {
			break
		}
		if err != nil {
			got := len(data)
			return nil, nil, d.classify(err, func() *FileError {
				switch {
				case src.gz == nil:
					return fileErr(path, ErrTruncated, "%s but the file ends after %s of data", declared, countBytes(int64(got), false))
				case errors.Is(err, io.ErrUnexpectedEOF):
					return fileErr(path, ErrTruncated, "%s but the gzip stream is cut off after %s of data", declared, countBytes(int64(got), false))
				}
				return fileErr(path, ErrTruncated, "%s but the gzip stream holds only %s of data", declared, countBytes(int64(got), false))
			})
		}
	}

	// Nothing may follow. Reading to the end also makes gzip check its
	// CRC-32 and length.
	var one [1]byte
	n, err := io.ReadFull(src, one[:])
	if n == 1 {
		extra, _ := io.Copy(io.Discard, io.LimitReader(src, trailingProbe))
		return nil, nil, fileErr(path, ErrTrailing, "%s beyond the %s of data the header declares (%s)", countBytes(extra+1, extra == trailingProbe), countBytes(total, false), items)
	}
	if err != io.EOF {
		return nil, nil, d.classify(err, func() *FileError {
			return fileErr(path, ErrTruncated, "the gzip stream is cut off after its data, before its trailer")
		})
	}

	if k == labelsKind {
		for i, l := range data {
			if l > 9 {
				return nil, nil, fileErr(path, ErrBadLabel, "label %d at index %d, want 0..9", l, i)
			}
		}
	}
	return dims, data, nil
}

// checkMagic explains a magic number that is not the one of kind k. A
// wrong number of dimensions is reported as ErrBadShape, anything else as
// ErrBadMagic.
func checkMagic(path string, magic uint32, k kind) error {
	if magic == k.magic {
		return nil
	}
	want := fmt.Sprintf("want 0x%08x for an IDX %s file", k.magic, k.what)
	switch {
	case magic>>16 == 0x1f8b:
		return fileErr(path, ErrBadMagic, "0x%08x, %s (the data is gzipped twice)", magic, want)
	case magic>>16 != 0:
		return fileErr(path, ErrBadMagic, "0x%08x: not an IDX file; %s", magic, want)
	case magic>>8&0xff != 0x08:
		return fileErr(path, ErrBadMagic, "0x%08x: IDX data type 0x%02x, but MNIST holds unsigned bytes (0x08); %s", magic, magic>>8&0xff, want)
	}
	nd := int(magic & 0xff)
	hint := ""
	switch {
	case k == imagesKind && nd == 1:
		hint = " (this looks like a labels file)"
	case k == labelsKind && nd == 3:
		hint = " (this looks like an images file)"
	}
	return fileErr(path, ErrBadShape, "magic number 0x%08x declares %s, but %s have %d (%s)%s", magic, plural.Count(nd, "dimension", "dimensions"), k.what, k.magic&0xff, want, hint)
}
