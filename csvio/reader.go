package csvio

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Reader reads a CSV file's records one at a time, never the whole file:
// comma or semicolon (whichever the header line uses outside quotes), with
// or without a UTF-8 BOM, LF or CRLF, RFC 4180 quoting. Every record it
// returns has the header's number of fields, each valid UTF-8 without
// NUL; anything else is a [*FileError] naming the line.
type Reader struct {
	csv    *csv.Reader
	header []string
	// Comma is the separator detected.
	Comma rune
	fatal error
}

// FileError is a file (or a line of it) that is not CSV scimd can read.
type FileError struct {
	Line int
	Msg  string
}

func (e *FileError) Error() string {
	if e.Line == 0 {
		return e.Msg
	}
	return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
}

// maxHeaderLine bounds the header line detection reads ahead.
const maxHeaderLine = 1 << 20

// ErrEmpty is a file with no header line.
var ErrEmpty = errors.New("the file is empty")

// NewReader reads the header line of r. A file with no line at all is
// [ErrEmpty].
func NewReader(r io.Reader) (*Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	if bom, err := br.Peek(3); err == nil && bytes.Equal(bom, []byte{0xEF, 0xBB, 0xBF}) {
		br.Discard(3)
	}
	head, err := br.Peek(maxHeaderLine)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, err
	}
	if len(bytes.TrimSpace(head)) == 0 {
		return nil, ErrEmpty
	}
	comma := detect(head)
	c := csv.NewReader(br)
	c.Comma = comma
	c.FieldsPerRecord = -1
	c.ReuseRecord = true
	rd := &Reader{csv: c, Comma: comma}
	rec, line, err := rd.read()
	if errors.Is(err, io.EOF) {
		return nil, ErrEmpty
	}
	if err != nil {
		return nil, err
	}
	_ = line
	rd.header = make([]string, len(rec))
	for i, h := range rec {
		rd.header[i] = strings.TrimSpace(h)
	}
	return rd, nil
}

// detect returns the separator of the header line in head: ';' when it
// has more semicolons than commas outside quotes, else ','.
func detect(head []byte) rune {
	if i := bytes.IndexByte(head, '\n'); i >= 0 {
		head = head[:i]
	}
	commas, semis, quoted := 0, 0, false
	for _, b := range head {
		switch {
		case b == '"':
			quoted = !quoted
		case quoted:
		case b == ',':
			commas++
		case b == ';':
			semis++
		}
	}
	if semis > commas {
		return ';'
	}
	return ','
}

// Header returns the header line's fields, trimmed.
func (r *Reader) Header() []string { return r.header }

// Read returns the next record and the line it starts at; io.EOF after
// the last. The record is reused by the next call. A record with another
// number of fields than the header, or a field that is not UTF-8 or holds
// NUL, is a [*FileError] after which Read goes on with the next record;
// bad quoting is a [*FileError] after which Read returns it again (the
// rest of the file cannot be read reliably).
func (r *Reader) Read() ([]string, int, error) {
	if r.fatal != nil {
		return nil, 0, r.fatal
	}
	rec, line, err := r.read()
	if err != nil {
		return nil, line, err
	}
	if len(rec) != len(r.header) {
		return nil, line, &FileError{line, fmt.Sprintf("%d fields, but the header line has %d: check the separators (%q) and quotes of this line", len(rec), len(r.header), string(r.Comma))}
	}
	return rec, line, nil
}

func (r *Reader) read() ([]string, int, error) {
	rec, err := r.csv.Read()
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		r.fatal = &FileError{pe.StartLine, fmt.Sprintf("not valid CSV (%v at line %d, column %d): a quote inside a field must be doubled (\"\"), and a quoted field must end with a quote", pe.Err, pe.Line, pe.Column)}
		return nil, pe.StartLine, r.fatal
	}
	if err != nil {
		return nil, 0, err
	}
	line, _ := r.csv.FieldPos(0)
	for i, f := range rec {
		if strings.IndexByte(f, 0) >= 0 {
			l, _ := r.csv.FieldPos(i)
			return nil, line, &FileError{l, fmt.Sprintf("field %d holds a NUL byte: this is a binary file, not CSV text", i+1)}
		}
		if !utf8.ValidString(f) {
			l, _ := r.csv.FieldPos(i)
			return nil, line, &FileError{l, fmt.Sprintf("field %d is not UTF-8 text: save the file as CSV UTF-8 (Excel: Save As, CSV UTF-8); a Windows-1252 file shows this", i+1)}
		}
	}
	return rec, line, nil
}
