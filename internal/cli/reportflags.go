package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/kmsrotor/kmsrotor/internal/atomicfile"
	"github.com/kmsrotor/kmsrotor/internal/check"
	"github.com/kmsrotor/kmsrotor/internal/mutelist"
	"github.com/kmsrotor/kmsrotor/internal/report"
	"github.com/kmsrotor/kmsrotor/internal/securityhub"
)

// reportFlags are the report flags of a scan: which formats, where, which
// compliance framework, which mutelist, and whether to import into
// Security Hub and read rotation history. scan binds them with bind,
// checks them with validate before any API call, applies the mutelist to
// each finding with mute, and writes through the sink that sinks builds.
type reportFlags struct {
	Outputs         []string
	OutputDir       string
	Stem            string
	Compliance      string
	Mutelist        string
	SecurityHub     bool
	RotationHistory bool

	// now decides which mutelist entries have expired (Env.Now).
	now func() time.Time
	// workingDir resolves relative paths (Env.WorkingDir).
	workingDir string

	// Set by validate.
	formats   []report.Format
	framework check.Framework
	mutes     *mutelist.List
	// warnings are what validate found that is not an error (expired
	// mutelist entries), one sentence each, for stderr.
	warnings []string
}

// defaultStem names the files of --output-dir: kmsrotor-report.html, ….
const defaultStem = "kmsrotor-report"

// formatExt is each format's file extension under --output-dir.
var formatExt = map[report.Format]string{
	report.FormatTable: ".txt", report.FormatJSON: ".json", report.FormatSARIF: ".sarif",
	report.FormatOCSF: ".ocsf.json", report.FormatASFF: ".asff.json", report.FormatCSV: ".csv",
	report.FormatJUnit: ".junit.xml", report.FormatMarkdown: ".md", report.FormatHTML: ".html",
	"jsonl": ".jsonl",
}

// bind registers the flags; formats are the command's output formats.
func (r *reportFlags) bind(f *pflag.FlagSet, formats []report.Format) {
	f.StringSliceVarP(&r.Outputs, "output", "o", []string{string(report.FormatTable)},
		"output formats, comma separated: "+formatList(formats)+" (several need --output-dir)")
	f.StringVar(&r.OutputDir, "output-dir", "", "write one file per format into this directory (kmsrotor-report.<ext>)")
	f.StringVar(&r.Stem, "output-stem", defaultStem, "file name, without extension, of the files of --output-dir")
	f.StringVar(&r.Compliance, "compliance", "", "add this framework's section to the HTML, Markdown and JSON reports (e.g. cis_5.0_aws)")
	f.StringVar(&r.Mutelist, "mutelist", "", "Prowler mutelist YAML: matching findings keep their status, are marked muted and do not fail the run")
	f.BoolVar(&r.SecurityHub, "security-hub", false, "import the findings, as ASFF, into each account-Region's Security Hub (BatchImportFindings)")
	f.BoolVar(&r.RotationHistory, "rotation-history", false, "read ListKeyRotations for each key's last rotation date and type")
}

// validate checks the flags before any API call: every error is a usage
// error (exit 2) that says what to change.
func (r *reportFlags) validate() error {
	r.formats = nil
	for _, name := range r.Outputs {
		f, err := report.ParseFormat(name)
		if err != nil {
			return usageErr(err)
		}
		if slices.Contains(r.formats, f) {
			return usagef("--output lists %s twice", f)
		}
		r.formats = append(r.formats, f)
	}
	if len(r.formats) == 0 {
		return usagef("--output is empty: name at least one format")
	}
	if r.OutputDir == "" && len(r.formats) > 1 {
		return usagef("--output %s writes several formats: add --output-dir DIR to write one file each", strings.Join(r.Outputs, ","))
	}
	if r.OutputDir != "" {
		if r.Stem == "" || strings.ContainsAny(r.Stem, `/\`) {
			return usagef("--output-stem %q must be a file name without a directory", r.Stem)
		}
		if err := checkWritableDir(r.path(r.OutputDir)); err != nil {
			return usagef("--output-dir %s: %v", r.OutputDir, err)
		}
	}
	if r.Compliance != "" {
		fw, ok := check.LookupFramework(r.Compliance)
		if !ok {
			return usagef("--compliance %q is not a framework this check maps to; close names: %s", r.Compliance, strings.Join(check.CloseFrameworks(r.Compliance), ", "))
		}
		r.framework = fw
	}
	if r.Mutelist != "" {
		now := time.Now
		if r.now != nil {
			now = r.now
		}
		l, err := mutelist.Load(r.path(r.Mutelist), now())
		if err != nil {
			return usageErr(err)
		}
		r.mutes, r.warnings = l, l.Warnings()
	}
	return nil
}

func (r *reportFlags) path(p string) string {
	if filepath.IsAbs(p) || r.workingDir == "" {
		return p
	}
	return filepath.Join(r.workingDir, p)
}

// checkWritableDir says why files cannot be written into dir: it must
// exist, be a directory and take a new file.
func checkWritableDir(dir string) error {
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return errors.New("the directory does not exist; create it first")
	case err != nil:
		return errors.Unwrap(err)
	case !st.IsDir():
		return errors.New("not a directory")
	}
	f, err := os.CreateTemp(dir, ".kmsrotor-write-test-*")
	if err != nil {
		return fmt.Errorf("cannot write there (%v); choose a writable directory", errors.Unwrap(err))
	}
	f.Close()
	return os.Remove(f.Name())
}

// mute marks f muted when the mutelist matches it. scan calls it on each
// finding before counting it, so muted FAILs do not set the exit code.
func (r *reportFlags) mute(f *check.Finding) {
	if r.mutes != nil {
		r.mutes.Apply(f)
	}
}

// outputs builds the sink the scan writes to: each format to its file
// under --output-dir, or the one format to outputFile (written under a
// temporary name) or to stdout with stdoutOpts (terminal, colour), plus
// Security Hub when asked (hub builds each account-Region's client). done
// puts the files in place when ok (the run wrote them to the end) and
// removes them otherwise; hubSink's Result says what the import did.
func (r *reportFlags) outputs(ctx context.Context, stdout io.Writer, outputFile string, stdoutOpts report.Options, hub securityhub.ClientFor) (sink report.Sink, done func(ok bool) error, hubSink *securityhub.Sink, err error) {
	var sinks []report.Sink
	var files []*atomicfile.File
	abort := func() {
		for _, f := range files {
			f.Abort()
		}
	}
	fileOpts := report.Options{ShowSkipped: stdoutOpts.ShowSkipped, Compliance: r.framework.Key}
	for _, f := range r.formats {
		var w io.Writer = stdout
		opts := stdoutOpts
		opts.Compliance = r.framework.Key
		path := outputFile
		if r.OutputDir != "" {
			path = filepath.Join(r.path(r.OutputDir), r.Stem+formatExt[f])
		}
		if path != "" {
			af, err := atomicfile.Create(r.path(path), 0o644)
			if err != nil {
				abort()
				return nil, nil, nil, fmt.Errorf("create the %s report: %w", f, err)
			}
			files, w, opts = append(files, af), af, fileOpts
		}
		s, err := report.NewSink(f, w, opts)
		if err != nil {
			abort()
			return nil, nil, nil, err
		}
		sinks = append(sinks, s)
	}
	if r.SecurityHub && hub != nil {
		hubSink = securityhub.NewSink(ctx, hub)
		sinks = append(sinks, hubSink)
	}
	done = func(ok bool) error {
		if !ok {
			abort()
			return nil
		}
		var errs []error
		for _, f := range files {
			if err := f.Commit(); err != nil {
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	}
	return report.Tee(sinks...), done, hubSink, nil
}
