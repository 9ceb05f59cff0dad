package ops

import (
	"io"
	"log/slog"
	"os"

	"golang.org/x/term"
)

// NewLogger returns scimd's logger writing to w: text when w is a
// terminal, for a person reading, else JSON, one object per line, for a
// log collector.
func NewLogger(w io.Writer) *slog.Logger {
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return slog.New(slog.NewTextHandler(w, nil))
	}
	return slog.New(slog.NewJSONHandler(w, nil))
}
