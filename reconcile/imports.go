package reconcile

import (
	"github.com/scimd/scimd/reconcile/rules"
)

// CSVLayout is a CSV connector's file layout as its configuration states
// it (kind: csv, csv: {columns, require, empty}); csvio reads files by it.
type CSVLayout = rules.CSV

// CSVFields are the fields a CSV column may fill, by the default layout's
// column names.
var CSVFields = rules.CSVFields

// CSVField returns the field of [CSVFields] a name means (any case, spaces
// ignored), and false when none.
func CSVField(name string) (string, bool) { return rules.CSVField(name) }

// CSVKey folds a header as layouts compare headers.
func CSVKey(s string) string { return rules.CSVKey(s) }

// CSV values of a layout's empty.
const (
	CSVEmptyKeep  = rules.CSVEmptyKeep
	CSVEmptyClear = rules.CSVEmptyClear
)
