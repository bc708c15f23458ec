package cli

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/kmsrotor/kmsrotor/internal/atomicfile"
	"github.com/kmsrotor/kmsrotor/internal/report"
)

// reportOutput is where a command's report goes: a sink writing to stdout,
// or to --output-file through an atomicfile.File, put in place by commit
// (a reader never sees half a report, and a run that fails before its end
// leaves none).
type reportOutput struct {
	sink report.Sink
	file *atomicfile.File
}

func openReport(o *scanOptions) (*reportOutput, error) {
	if o.OutputFile == "" {
		return &reportOutput{sink: newSink(o.env.Stdout, o.format, report.Options{Terminal: o.env.StdoutTTY, ShowSkipped: o.ShowSkipped, NoColor: noColor(o.env)})}, nil
	}
	path := o.OutputFile
	if !filepath.IsAbs(path) && o.env.WorkingDir != "" {
		path = filepath.Join(o.env.WorkingDir, path)
	}
	f, err := atomicfile.Create(path, 0o644)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	return &reportOutput{sink: newSink(f, o.format, report.Options{ShowSkipped: o.ShowSkipped}), file: f}, nil
}

func (r *reportOutput) commit() error {
	if r.file == nil {
		return nil
	}
	if err := r.file.Commit(); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

func (r *reportOutput) abort() {
	if r.file != nil {
		r.file.Abort()
	}
}

// writeFileAtomic writes a whole report to path (iac, merge).
func writeFileAtomic(path string, write func(io.Writer) error) error {
	if err := atomicfile.Write(path, 0o644, write); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

// noColor honours NO_COLOR (https://no-color.org): set and not empty.
func noColor(env *Env) bool { return env.Getenv("NO_COLOR") != "" }

// newSink is the report's sink for format; the format was validated at
// flag time.
func newSink(w io.Writer, f report.Format, opts report.Options) report.Sink {
	s, err := report.NewSink(f, w, opts)
	if err != nil {
		panic(fmt.Sprintf("validated format %q has no sink: %v", f, err))
	}
	return s
}
