package mnist

import (
	"bytes"
	"fmt"
	"image"
	_ "image/gif"  // decoders for predict's inputs
	_ "image/jpeg" // decoders for predict's inputs
	_ "image/png"  // decoders for predict's inputs

	"golang.org/x/image/draw"

	"github.com/regcl/regcl/internal/readfile"
)

// Picture is one image to classify, as MNIST stores digits: Rows×Cols
// bytes, 0 for the background and 255 for the ink.
type Picture struct {
	Name     string // file, and #index for IDX files holding several
	Pixels   []uint8
	Inverted bool // the source had a light background and was inverted
}

// Bounds on what ReadPictures takes, checked before anything is decoded:
// the file's size, and a picture's size as its header declares it (a
// 3.8 kB PNG can claim 60000×60000 pixels, 14 GB once decoded).
const (
	MaxPictureFile   = 64 << 20   // bytes: the 60,000 training images are 47 MB raw
	MaxPictureSide   = 16384      // pixels, either side
	MaxPicturePixels = 40_000_000 // width × height: 40 megapixels, 160 MB as RGBA
)

// ReadPictures reads an image file for classification: an IDX image file
// (gzipped or raw, 28×28, every image in it) or a PNG, JPEG or GIF of at
// most MaxPictureSide pixels a side and MaxPicturePixels in all, scaled to
// 28×28 and converted to gray. MNIST digits are light on dark; a picture
// whose border is mostly light is inverted to match.
func ReadPictures(path string) ([]Picture, error) {
	raw, err := readfile.Max(path, MaxPictureFile, "an image file")
	if err != nil {
		return nil, err
	}
	if idx := bytes.HasPrefix(raw, []byte{0, 0, 8, 3}) || isGzip(raw); idx {
		imgs, n, rows, cols, err := ParseImages(path, raw)
		if err != nil {
			return nil, err
		}
		out := make([]Picture, n)
		for i := range out {
			out[i] = Picture{Name: fmt.Sprintf("%s#%d", path, i), Pixels: imgs[i*rows*cols : (i+1)*rows*cols]}
		}
		return out, nil
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("mnist: %s: not an IDX image file, PNG, JPEG or GIF: %v", path, err)
	}
	if cfg.Width > MaxPictureSide || cfg.Height > MaxPictureSide || int64(cfg.Width)*int64(cfg.Height) > MaxPicturePixels {
		return nil, fmt.Errorf("mnist: %s: a %s of %d×%d pixels; predict takes at most %d pixels a side and %d in all (scale it down first)",
			path, format, cfg.Width, cfg.Height, MaxPictureSide, MaxPicturePixels)
	}
	src, _, err := image.Decode(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("mnist: %s: not an IDX image file, PNG, JPEG or GIF: %v", path, err)
	}
	b := src.Bounds()
	if b.Dx() < 1 || b.Dy() < 1 {
		return nil, fmt.Errorf("mnist: %s: empty image", path)
	}
	gray := image.NewGray(image.Rect(0, 0, Cols, Rows))
	draw.CatmullRom.Scale(gray, gray.Bounds(), src, b, draw.Src, nil)
	p := Picture{Name: path, Pixels: make([]uint8, Rows*Cols)}
	var border, nb int
	for y := 0; y < Rows; y++ {
		for x := 0; x < Cols; x++ {
			v := gray.GrayAt(x, y).Y
			p.Pixels[y*Cols+x] = v
			if x == 0 || y == 0 || x == Cols-1 || y == Rows-1 {
				border += int(v)
				nb++
			}
		}
	}
	if border > 127*nb {
		p.Inverted = true
		for i, v := range p.Pixels {
			p.Pixels[i] = 255 - v
		}
	}
	return []Picture{p}, nil
}
