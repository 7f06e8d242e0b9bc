package catalog

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"unicode/utf8"
)

// The payloads of sections 12 and 13. The original sends slices of five
// files it ships (a JSON file, the 512×512 "Lena" bitmap, Goethe's Faust I
// from Project Gutenberg, an HTML file and a PDF paper). Those files are not
// ours to copy, so each is replaced by data generated here, deterministically,
// of the same kind and the same size in bytes, sent as the same message type:
// what the cases check (an echo equal to what was sent, through compression)
// depends on the data's compressibility, not on its words.

// s12Data is one data set.
type s12Data struct {
	key    string // the original's name for it
	desc   string // the original's description
	binary bool   // sent as binary messages (true) or text (false)
	size   int    // size of the original file in bytes
	gen    func(r *rand.Rand, size int) []byte
}

// s12DataSets are the original's data sets, in its case order (12.1 to 12.5).
var s12DataSets = []s12Data{
	{"json_data1", "Large JSON data file", false, 194056, genJSON},
	{"lena512", "Lena Picture, Bitmap 512x512 bw", true, 263222, genBitmap},
	{"gutenberg_faust", "Human readable text, Goethe's Faust I (German)", true, 222218, genVerse},
	{"html_data1", "Large HTML file", false, 263527, genHTML},
	{"ooms", "A larger PDF", true, 1042328, genPDF},
}

var (
	s12Once  sync.Once
	s12Bytes [][]byte
)

// s12Content returns data set i's bytes, generated once.
func s12Content(i int) []byte {
	s12Once.Do(func() {
		s12Bytes = make([][]byte, len(s12DataSets))
		for j, d := range s12DataSets {
			r := rand.New(rand.NewPCG(0x6455, uint64(j+1)))
			b := d.gen(r, d.size)
			if len(b) != d.size {
				panic(fmt.Sprintf("catalog: data set %s: %d bytes, want %d", d.key, len(b), d.size))
			}
			s12Bytes[j] = b
		}
	})
	return s12Bytes[i]
}

var (
	s12Words = strings.Fields(`der die das und ist nicht ich du er sie es wir ihr mit von zu auf
		für aus bei nach über unter vor hinter zwischen Geist Welt Natur Himmel Erde Herz
		Seele Leben Liebe Zeit Nacht Tag Licht Feuer Wasser Luft Gott Teufel Mensch Wissen
		Kunst Gewalt Freude Schmerz Wahrheit Traum Blick Hand Wort Tat Kraft Sinn schön
		groß klein alt neu hoch tief weit nah süß bitter dunkel hell müde froh gewiß
		möchte würde könnte sollte dürfte müßte habe hast hat haben sein bin bist war
		the of and to in is that for on with as by at from this be are was have not or
		data value result server client message frame window compression context history
		über Größe Straße Mädchen Bürger Häuser Märchen Stühle Türen Öfen Äpfel`)
	s12Names = strings.Fields(`Anna Bernd Clara Dieter Emma Felix Greta Hans Ines Jörg Käthe Lukas
		Maria Nils Olga Paul Quirin Rosa Sven Tanja Ulrich Vera Walter Xaver Yvonne Zoë
		Müller Schröder Weiß Groß Köhler Brandt Fischer Wagner Becker Hoffmann Schäfer`)
)

func pick(r *rand.Rand, list []string) string { return list[r.IntN(len(list))] }

func sentence(r *rand.Rand, min, max int) string {
	n := min + r.IntN(max-min+1)
	ws := make([]string, n)
	for i := range ws {
		ws[i] = pick(r, s12Words)
	}
	s := strings.Join(ws, " ")
	first, size := utf8.DecodeRuneInString(s)
	return strings.ToUpper(string(first)) + s[size:]
}

// fit cuts b, or pads it with pad, to exactly n bytes ending with
// tailText. Text (valid UTF-8) is never cut within a UTF-8 sequence.
func fit(b []byte, n int, tailText string, pad byte) []byte {
	body := n - len(tailText)
	if len(b) > body {
		text := utf8.Valid(b)
		b = b[:body]
		for text && len(b) > 0 && !utf8.Valid(b) {
			b = b[:len(b)-1]
		}
	}
	for len(b) < body {
		b = append(b, pad)
	}
	return append(b, tailText...)
}

// genJSON makes an array of records in the style of generated JSON test
// data, with some non-ASCII text.
func genJSON(r *rand.Rand, size int) []byte {
	var b bytes.Buffer
	b.WriteString("[\n")
	for i := 0; b.Len() < size; i++ {
		if i > 0 {
			b.WriteString(",\n")
		}
		name := pick(r, s12Names) + " " + pick(r, s12Names)
		fmt.Fprintf(&b, "  {\n    \"_id\": \"%016x%08x\",\n    \"index\": %d,\n", r.Uint64(), r.Uint32(), i)
		fmt.Fprintf(&b, "    \"guid\": \"%08x-%04x-%04x-%04x-%012x\",\n", r.Uint32(), r.IntN(1<<16), r.IntN(1<<16), r.IntN(1<<16), r.Uint64()>>16)
		fmt.Fprintf(&b, "    \"isActive\": %t,\n    \"balance\": \"$%d,%03d.%02d\",\n", r.IntN(2) == 0, r.IntN(4), r.IntN(1000), r.IntN(100))
		fmt.Fprintf(&b, "    \"age\": %d,\n    \"eyeColor\": %q,\n    \"name\": %q,\n", 20+r.IntN(50), pick(r, []string{"blue", "brown", "green"}), name)
		fmt.Fprintf(&b, "    \"company\": %q,\n    \"email\": \"%s@example.com\",\n", strings.ToUpper(pick(r, s12Words)), strings.ToLower(pick(r, s12Names)))
		fmt.Fprintf(&b, "    \"phone\": \"+49 (%03d) %03d-%04d\",\n", r.IntN(1000), r.IntN(1000), r.IntN(10000))
		fmt.Fprintf(&b, "    \"address\": \"%d %s, %s\",\n", 1+r.IntN(999), pick(r, s12Names)+"straße", pick(r, s12Names)+"hausen")
		fmt.Fprintf(&b, "    \"about\": %q,\n", sentence(r, 12, 40)+".")
		fmt.Fprintf(&b, "    \"registered\": \"20%02d-%02d-%02dT%02d:%02d:%02d -01:00\",\n", 10+r.IntN(15), 1+r.IntN(12), 1+r.IntN(28), r.IntN(24), r.IntN(60), r.IntN(60))
		fmt.Fprintf(&b, "    \"latitude\": %.6f,\n    \"longitude\": %.6f,\n", r.Float64()*180-90, r.Float64()*360-180)
		b.WriteString("    \"tags\": [")
		for t := 0; t < 7; t++ {
			if t > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%q", pick(r, s12Words))
		}
		b.WriteString("],\n    \"friends\": [")
		for f := 0; f < 3; f++ {
			if f > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, "\n      {\n        \"id\": %d,\n        \"name\": %q\n      }", f, pick(r, s12Names)+" "+pick(r, s12Names))
		}
		fmt.Fprintf(&b, "\n    ],\n    \"greeting\": \"Hallo, %s! Du hast %d ungelesene Nachrichten.\",\n", name, r.IntN(20))
		fmt.Fprintf(&b, "    \"favoriteFruit\": %q\n  }", pick(r, []string{"apple", "banana", "strawberry", "Äpfel"}))
	}
	return fit(b.Bytes(), size, "\n]\n", ' ')
}

// genBitmap makes an 8-bit grayscale BMP of 512×512 pixels: smooth shapes
// with noise, like a photograph.
func genBitmap(r *rand.Rand, size int) []byte {
	const w, h = 512, 512
	const offset = 14 + 40 + 256*4
	b := make([]byte, 0, size)
	b = append(b, 'B', 'M')
	b = binary.LittleEndian.AppendUint32(b, uint32(size))
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = binary.LittleEndian.AppendUint32(b, offset)
	b = binary.LittleEndian.AppendUint32(b, 40)
	b = binary.LittleEndian.AppendUint32(b, w)
	b = binary.LittleEndian.AppendUint32(b, h)
	b = binary.LittleEndian.AppendUint16(b, 1)
	b = binary.LittleEndian.AppendUint16(b, 8)
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = binary.LittleEndian.AppendUint32(b, w*h)
	b = binary.LittleEndian.AppendUint32(b, 2835)
	b = binary.LittleEndian.AppendUint32(b, 2835)
	b = binary.LittleEndian.AppendUint32(b, 256)
	b = binary.LittleEndian.AppendUint32(b, 256)
	for i := 0; i < 256; i++ {
		b = append(b, byte(i), byte(i), byte(i), 0)
	}
	type blob struct{ x, y, rad, v float64 }
	blobs := make([]blob, 24)
	for i := range blobs {
		blobs[i] = blob{r.Float64() * w, r.Float64() * h, 20 + r.Float64()*120, r.Float64()*160 - 80}
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v := 96 + 64*float64(x)/w
			for _, bl := range blobs {
				dx, dy := float64(x)-bl.x, float64(y)-bl.y
				if d := dx*dx + dy*dy; d < bl.rad*bl.rad {
					v += bl.v * (1 - d/(bl.rad*bl.rad))
				}
			}
			v += float64(r.IntN(9) - 4)
			b = append(b, byte(min(max(v, 0), 255)))
		}
	}
	return fit(b, size, "", 0)
}

// genVerse makes German verse in the layout of a Project Gutenberg text.
func genVerse(r *rand.Rand, size int) []byte {
	var b bytes.Buffer
	b.WriteString("The Project Gutenberg EBook of Faust: Der Tragödie erster Teil\r\n\r\n")
	for b.Len() < size {
		fmt.Fprintf(&b, "\r\n%s.\r\n\r\n", strings.ToUpper(pick(r, s12Names)))
		for l := 2 + r.IntN(10); l > 0; l-- {
			b.WriteString(sentence(r, 4, 9))
			b.WriteString(pick(r, []string{",", ";", ".", "!", "?", ""}))
			b.WriteString("\r\n")
		}
	}
	return fit(b.Bytes(), size, "\r\n*** END ***\r\n", ' ')
}

// genHTML makes an HTML page of articles, tables and links.
func genHTML(r *rand.Rand, size int) []byte {
	var b bytes.Buffer
	b.WriteString("<!DOCTYPE html>\n<html lang=\"de\">\n<head>\n<meta charset=\"utf-8\">\n<title>Daten</title>\n")
	b.WriteString("<link rel=\"stylesheet\" href=\"/static/style.css\">\n</head>\n<body>\n<div id=\"content\">\n")
	for b.Len() < size {
		fmt.Fprintf(&b, "<div class=\"article\" id=\"a%d\">\n<h2><a href=\"/artikel/%d\">%s</a></h2>\n", r.IntN(100000), r.IntN(100000), sentence(r, 3, 7))
		for p := 1 + r.IntN(4); p > 0; p-- {
			fmt.Fprintf(&b, "<p class=\"text\">%s. %s. <em>%s</em></p>\n", sentence(r, 8, 20), sentence(r, 5, 15), sentence(r, 2, 5))
		}
		b.WriteString("<table class=\"data\">\n")
		for row := r.IntN(5); row > 0; row-- {
			fmt.Fprintf(&b, "<tr><td>%s</td><td class=\"num\">%d</td><td class=\"num\">%.2f</td></tr>\n", pick(r, s12Names), r.IntN(10000), r.Float64()*1000)
		}
		b.WriteString("</table>\n</div>\n")
	}
	return fit(b.Bytes(), size, "</div>\n</body>\n</html>\n", ' ')
}

// genPDF makes a PDF-like file: objects whose streams are mostly
// already-compressed (random) bytes, with some plain text between them.
func genPDF(r *rand.Rand, size int) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	for obj := 1; b.Len() < size; obj++ {
		if r.IntN(3) == 0 {
			text := fmt.Sprintf("BT /F1 10 Tf 72 %d Td (%s) Tj ET\n", 100+r.IntN(600), sentence(r, 10, 30))
			fmt.Fprintf(&b, "%d 0 obj\n<< /Length %d >>\nstream\n%s\nendstream\nendobj\n", obj, len(text), text)
			continue
		}
		n := 512 + r.IntN(8192)
		fmt.Fprintf(&b, "%d 0 obj\n<< /Length %d /Filter /FlateDecode >>\nstream\n", obj, n)
		for i := 0; i < n; i++ {
			b.WriteByte(byte(r.Uint32()))
		}
		b.WriteString("\nendstream\nendobj\n")
	}
	return fit(b.Bytes(), size, "\n%%EOF\n", '\n')
}
