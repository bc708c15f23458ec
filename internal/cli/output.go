package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/kmsrotor/kmsrotor/internal/report"
)

// reportOutput is where a command's report goes: a sink writing to stdout,
// or to --output-file through an atomicFile.
type reportOutput struct {
	sink report.Sink
	file *atomicFile
}

func openReport(o *scanOptions) (*reportOutput, error) {
	if o.OutputFile == "" {
		return &reportOutput{sink: newSink(o.env.Stdout, o.format, report.Options{Terminal: o.env.StdoutTTY, ShowSkipped: o.ShowSkipped, NoColor: noColor(o.env)})}, nil
	}
	path := o.OutputFile
	if !filepath.IsAbs(path) && o.env.WorkingDir != "" {
		path = filepath.Join(o.env.WorkingDir, path)
	}
	f, err := createAtomic(path)
	if err != nil {
		return nil, err
	}
	return &reportOutput{sink: newSink(f.tmp, o.format, report.Options{ShowSkipped: o.ShowSkipped}), file: f}, nil
}

func (r *reportOutput) commit() error {
	if r.file == nil {
		return nil
	}
	return r.file.commit()
}

func (r *reportOutput) abort() {
	if r.file != nil {
		r.file.abort()
	}
}

// atomicFile is a file written under a temporary name in its directory and
// renamed into place by commit: a reader never sees half a file, and a run
// that fails before its end leaves none.
type atomicFile struct {
	tmp  *os.File
	path string
	done bool
}

func createAtomic(path string) (*atomicFile, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return nil, fmt.Errorf("write report %s: %w", path, err)
	}
	return &atomicFile{tmp: tmp, path: path}, nil
}

func (a *atomicFile) commit() error {
	if a.done {
		return nil
	}
	a.done = true
	fail := func(err error) error {
		a.tmp.Close()
		os.Remove(a.tmp.Name())
		return fmt.Errorf("write report %s: %w", a.path, err)
	}
	if err := a.tmp.Chmod(0o644); err != nil {
		return fail(err)
	}
	if err := a.tmp.Sync(); err != nil {
		return fail(err)
	}
	if err := a.tmp.Close(); err != nil {
		return fail(err)
	}
	if err := os.Rename(a.tmp.Name(), a.path); err != nil {
		os.Remove(a.tmp.Name())
		return fmt.Errorf("write report %s: %w", a.path, err)
	}
	return nil
}

// abort removes the temporary file, unless committed.
func (a *atomicFile) abort() {
	if !a.done {
		a.done = true
		a.tmp.Close()
		os.Remove(a.tmp.Name())
	}
}

// writeFileAtomic writes path through an atomicFile.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	f, err := createAtomic(path)
	if err != nil {
		return err
	}
	defer f.abort()
	if err := write(f.tmp); err != nil {
		return err
	}
	return f.commit()
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
