package main

import (
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
)

// terminal returns w when it is a terminal, else nil: progress bars are for people watching a
// terminal, never for files, pipes or the JSON on stdout.
func terminal(w io.Writer) io.Writer {
	f, ok := w.(*os.File)
	if !ok {
		return nil
	}
	st, err := f.Stat()
	if err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return nil
	}
	return w
}

// newBar returns a progress bar of total steps on w.
func newBar(w io.Writer, total int, description string) *progressbar.ProgressBar {
	return progressbar.NewOptions(total, progressbar.OptionSetWriter(w), progressbar.OptionSetDescription(description),
		progressbar.OptionShowCount(), progressbar.OptionSetWidth(30), progressbar.OptionThrottle(100*time.Millisecond))
}
