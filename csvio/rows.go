package csvio

import (
	"errors"
	"io"
	"iter"

	"github.com/scimd/scimd/reconcile"
	"github.com/scimd/scimd/store"
)

// File is a CSV file being read by a layout, for principal p.
type File struct {
	r *Reader
	b *binding
	p store.Principal
	// Rows counts the rows read so far.
	Rows int
}

// Open reads the header line of r and binds it to layout. A file with no
// line is [ErrEmpty]; a header the layout cannot read is a [*FileError].
func Open(r io.Reader, layout *Layout, p store.Principal) (*File, error) {
	rd, err := NewReader(r)
	if err != nil {
		return nil, err
	}
	b, err := layout.bind(rd.Header())
	if err != nil {
		return nil, err
	}
	return &File{r: rd, b: b, p: p}, nil
}

// Rows yields the file's rows one at a time: a row the reader refuses (a
// bad line) carries its error in LoadRow.Err; bad quoting ends the file
// with that error on its last row.
func (f *File) All() iter.Seq[reconcile.LoadRow] {
	return func(yield func(reconcile.LoadRow) bool) {
		for {
			rec, line, err := f.r.Read()
			if errors.Is(err, io.EOF) {
				return
			}
			f.Rows++
			var row reconcile.LoadRow
			switch {
			case err != nil:
				row = reconcile.LoadRow{Line: line, Err: err}
			default:
				row = f.b.decode(f.p, rec, line)
			}
			if !yield(row) || f.r.fatal != nil {
				return
			}
		}
	}
}

// Column returns the 1-based column and header of the column that set a
// document attribute, for an error a plan reports
// (reconcile.InputError.Attribute); 0 when no column did.
func (f *File) Column(attr string) (int, string) {
	field := attributeField(attr)
	if field == "reportsTo" {
		if _, ok := f.b.columns["reportsTo"]; !ok {
			field = "superiorExternalId"
		}
	}
	if field == "" {
		for i, h := range f.b.header {
			if h == attr {
				return i + 1, h
			}
		}
		return 0, ""
	}
	h, col := f.b.headerOf(field)
	return col, h
}
