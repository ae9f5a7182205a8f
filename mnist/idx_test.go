package mnist

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io/fs"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestReadValid(t *testing.T) {
	dir := t.TempDir()
	img := imagesIDX(3, Rows, Cols, 9)
	lab := labelsIDX(3, 4)
	for _, tc := range []struct {
		name     string
		img, lab []byte
	}{
		{"raw", img, lab},
		{"gzip", gz(t, img), gz(t, lab)},
		// gunzip reads concatenated members as one stream, and so do we.
		{"gzip members", cat(gz(t, img[:100]), gz(t, img[100:1000]), gz(t, nil), gz(t, img[1000:])), cat(gz(t, lab[:9]), gz(t, lab[9:]))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ip := writeFile(t, dir, tc.name+"-images", tc.img)
			lp := writeFile(t, dir, tc.name+"-labels", tc.lab)
			px, n, r, c, err := readImages(ip)
			if err != nil {
				t.Fatal(err)
			}
			if n != 3 || r != Rows || c != Cols || !bytes.Equal(px, img[16:]) {
				t.Errorf("readImages = %d×%d×%d, %d bytes (equal %v); want 3×28×28, the file's pixels", n, r, c, len(px), bytes.Equal(px, img[16:]))
			}
			labels, err := readLabels(lp)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(labels, []byte{4, 5, 6}) {
				t.Errorf("readLabels = %v, want [4 5 6]", labels)
			}
		})
	}
}

// Every malformed file is refused with an error naming the file and the
// problem, and no data.
func TestReadErrors(t *testing.T) {
	img := imagesIDX(3, Rows, Cols, 0) // 16 + 2352 bytes
	lab := labelsIDX(3, 0)

	crc := gz(t, img)
	crc[len(crc)-8] ^= 0x01 // CRC-32 in the trailer
	isize := gz(t, img)
	isize[len(isize)-4] ^= 0x01 // uncompressed length in the trailer
	badType := gz(t, img)
	badType[10] = 0xff // first deflate block: BTYPE 11, reserved
	var stored bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&stored, gzip.NoCompression)
	zw.Write(img)
	zw.Close()
	badLen := stored.Bytes()
	badLen[11] ^= 0xff // LEN of the stored block no longer matches NLEN
	gzImg := gz(t, img)
	badLabel := labelsIDX(3, 0)
	badLabel[8+2] = 10

	for _, tc := range []struct {
		name   string
		data   []byte
		labels bool // read as labels instead of images
		kind   error
		want   string
	}{
		{"bad magic", cat(idxHeader(0x12345678, 3, 28, 28), img[16:]), false, ErrBadMagic, "0x12345678: not an IDX file"},
		{"bad data type", cat(idxHeader(0x00000d03, 3, 28, 28), img[16:]), false, ErrBadMagic, "data type 0x0d"},
		{"labels read as images", lab, false, ErrBadShape, "looks like a labels file"},
		{"images read as labels", img, true, ErrBadShape, "looks like an images file"},
		{"gzipped twice", gz(t, gzImg), false, ErrBadMagic, "gzipped twice"},
		{"27x28 images", imagesIDX(3, 27, 28, 0), false, ErrBadShape, "images are 27×28, want 28×28"},
		{"28x29 images", imagesIDX(1, 28, 29, 0), false, ErrBadShape, "images are 28×29"},
		{"2-D labels", cat(idxHeader(0x00000802, 3, 1), []byte{1, 2, 3}), true, ErrBadShape, "declares 2 dimensions, but labels have 1"},
		{"zero images", idxHeader(ImagesMagic, 0, 28, 28), false, ErrBadShape, "0 images"},
		{"label out of range", badLabel, true, ErrBadLabel, "label 10 at index 2"},
		{"empty", nil, false, ErrTruncated, "empty"},
		{"truncated magic", img[:3], false, ErrTruncated, "inside the 4-byte IDX magic"},
		{"truncated header", img[:10], false, ErrTruncated, "inside the 16-byte IDX header"},
		{"truncated raw", img[:1016], false, ErrTruncated, "header says 3 images of 28×28 (2352 bytes) but the file ends after 1000 bytes"},
		{"truncated raw labels", lab[:10], true, ErrTruncated, "header says 3 labels (3 bytes) but the file ends after 2 bytes"},
		{"one label, none there", labelsIDX(1, 0)[:8], true, ErrTruncated, "header says 1 label (1 byte) but the file ends after 0 bytes of data"},
		{"one byte of two labels", labelsIDX(2, 0)[:9], true, ErrTruncated, "header says 2 labels (2 bytes) but the file ends after 1 byte of data"},
		{"1 dimension for images", labelsIDX(1, 0), false, ErrBadShape, "declares 1 dimension, but images have 3"},
		{"truncated gzip stream", gzImg[:len(gzImg)/2], false, ErrTruncated, "gzip stream is cut off"},
		{"gzip without trailer", gzImg[:len(gzImg)-8], false, ErrTruncated, "truncated"},
		{"truncated gzip header", gzImg[:5], false, ErrTruncated, "gzip header"},
		{"gzip of truncated data", gz(t, img[:1016]), false, ErrTruncated, "the gzip stream holds only 1000 bytes of data"},
		{"corrupt deflate block type", badType, false, ErrCorrupt, "invalid deflate data"},
		{"corrupt stored block length", badLen, false, ErrCorrupt, "invalid deflate data"},
		{"bad gzip header", cat([]byte{0x1f, 0x8b, 0x63}, make([]byte, 20)), false, ErrCorrupt, "invalid gzip header"},
		{"gzip CRC error", crc, false, ErrCorrupt, "gzip checksum error"},
		{"gzip length error", isize, false, ErrCorrupt, "gzip checksum error"},
		{"trailing garbage raw", cat(img, []byte("junk!")), false, ErrTrailing, "5 bytes beyond the 2352 bytes of data the header declares (3 images of 28×28)"},
		{"trailing garbage labels", cat(lab, []byte{0}), true, ErrTrailing, "1 byte beyond the 3 bytes of data the header declares (3 labels)"},
		{"trailing garbage after one label", cat(labelsIDX(1, 0), []byte{0, 0}), true, ErrTrailing, "2 bytes beyond the 1 byte of data the header declares (1 label)"},
		{"trailing garbage in gzip", gz(t, cat(img, []byte("junk"))), false, ErrTrailing, "4 bytes beyond the 2352 bytes"},
		{"trailing garbage after gzip", cat(gzImg, []byte("xyz")), false, ErrTrailing, "3 bytes after the end of the gzip stream"},
		{"trailing zero after gzip", cat(gzImg, []byte{0}), false, ErrTrailing, "1 byte after the end of the gzip stream"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, t.TempDir(), "file-idx-ubyte.gz", tc.data)
			var err error
			if tc.labels {
				var got []uint8
				got, err = readLabels(path)
				if got != nil {
					t.Errorf("readLabels returned %d bytes with the error", len(got))
				}
			} else {
				var got []uint8
				var n, r, c int
				got, n, r, c, err = readImages(path)
				if got != nil || n != 0 || r != 0 || c != 0 {
					t.Errorf("readImages returned %d bytes, %d×%d×%d with the error", len(got), n, r, c)
				}
			}
			wantErr(t, err, tc.kind, "mnist: "+path+": ", tc.want)
			var fe *FileError
			if !errors.As(err, &fe) || fe.Path != path {
				t.Errorf("error %v is not a *FileError for %s", err, path)
			}
		})
	}
}

func TestReadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "train-images-idx3-ubyte.gz")
	_, _, _, _, err := readImages(path)
	wantErr(t, err, fs.ErrNotExist, path)
	_, err = readLabels(path)
	wantErr(t, err, fs.ErrNotExist, path)
}

// TestItemCountBounds: a header of 0 items is refused, one of 1 read; the
// upper bound, MaxItems, is TestHugeHeaderSmallAllocation's.
func TestItemCountBounds(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := readFile(writeFile(t, dir, "zero", labelsIDX(0, 0)), labelsKind); !errors.Is(err, ErrBadShape) || !strings.Contains(err.Error(), "the header says 0 labels") {
		t.Errorf("0 labels: %v", err)
	}
	if dims, data, err := readFile(writeFile(t, dir, "one", labelsIDX(1, 3)), labelsKind); err != nil || dims[0] != 1 || !bytes.Equal(data, []byte{3}) {
		t.Errorf("1 label: %v, %v, %v", dims, data, err)
	}
	if px, n, _, _, err := readImages(writeFile(t, dir, "one-image", imagesIDX(1, Rows, Cols, 5))); err != nil || n != 1 || len(px) != Rows*Cols {
		t.Errorf("1 image: %d, %d pixels, %v", n, len(px), err)
	}
}

// A header announcing many images on a tiny body must fail without
// allocating memory for them: up to MaxItems as a truncated file, beyond it
// as a refused header, before any data is read.
func TestHugeHeaderSmallAllocation(t *testing.T) {
	body := bytes.Repeat([]byte{7}, 5000)
	for _, tc := range []struct {
		name string
		n    uint32
		gzip bool
		want error
		says string
	}{
		{"raw MaxItems", MaxItems, false, ErrTruncated, "header says"},
		{"gzip MaxItems", MaxItems, true, ErrTruncated, "header says"},
		{"raw MaxItems+1", MaxItems + 1, false, ErrBadShape, "more than the 1048576"},
		{"gzip MaxItems+1", MaxItems + 1, true, ErrBadShape, "more than the 1048576"},
		{"raw 2^31", 1 << 31, false, ErrBadShape, "more than"},
		{"gzip 2^31", 1 << 31, true, ErrBadShape, "more than"},
		{"raw 2^32-1", 1<<32 - 1, false, ErrBadShape, "more than"},
		{"gzip 2^32-1", 1<<32 - 1, true, ErrBadShape, "more than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := cat(idxHeader(ImagesMagic, tc.n, 28, 28), body)
			if tc.gzip {
				data = gz(t, data)
			}
			path := writeFile(t, t.TempDir(), "huge", data)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, _, _, _, err := readImages(path)
			runtime.ReadMemStats(&after)
			wantErr(t, err, tc.want, path, tc.says)
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
				t.Errorf("reading allocated %d bytes, want under 8 MiB", alloc)
			}
			// The same through the in-memory parser.
			runtime.ReadMemStats(&before)
			_, _, _, _, err = ParseImages("mem", data)
			runtime.ReadMemStats(&after)
			wantErr(t, err, tc.want, "mem", tc.says)
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
				t.Errorf("parsing allocated %d bytes, want under 8 MiB", alloc)
			}
			// And from a stream of unknown size (a pipe).
			runtime.ReadMemStats(&before)
			_, _, err = decode("pipe", bytes.NewReader(data), -1, imagesKind)
			runtime.ReadMemStats(&after)
			wantErr(t, err, tc.want, "pipe", tc.says)
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
				t.Errorf("reading a stream allocated %d bytes, want under 8 MiB", alloc)
			}
		})
	}
}

func TestParseMatchesRead(t *testing.T) {
	data := gz(t, imagesIDX(2, Rows, Cols, 3))
	path := writeFile(t, t.TempDir(), "x", data)
	a, _, _, _, err := readImages(path)
	if err != nil {
		t.Fatal(err)
	}
	b, n, _, _, err := ParseImages("x", data)
	if err != nil || n != 2 || !bytes.Equal(a, b) {
		t.Errorf("ParseImages = %d images, err %v; equal to readImages: %v", n, err, bytes.Equal(a, b))
	}
	_, err = parseLabels("name-in-message", data)
	if err == nil || !strings.HasPrefix(err.Error(), "mnist: name-in-message: ") {
		t.Errorf("parseLabels on images: err %v, want one naming name-in-message", err)
	}
}
