package mnisttest

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
)

// PNG is a PNG file whose header declares w×h 8-bit gray pixels, followed by
// idat as its one IDAT chunk (none when idat is nil) and IEND: a file whose
// claimed size a reader must check before it decodes, since the data is
// not a picture of that size (or none at all).
func PNG(w, h uint32, idat []byte) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		binary.Write(&b, binary.BigEndian, uint32(len(data)))
		c := append([]byte(typ), data...)
		b.Write(c)
		binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(c))
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 0 // bit depth 8, colour type 0: gray
	chunk("IHDR", ihdr)
	if idat != nil {
		chunk("IDAT", idat)
	}
	chunk("IEND", nil)
	return b.Bytes()
}
