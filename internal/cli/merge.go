package cli

import (
	"errors"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/kmsrotor/kmsrotor/internal/report"
)

// mergeOptions are the flags of kmsrotor merge.
type mergeOptions struct {
	env        *Env
	Files      []string
	Output     string
	OutputFile string

	format report.Format
}

func newMergeCmd(env *Env) *cobra.Command {
	o := &mergeOptions{env: env}
	cmd := &cobra.Command{
		Use:   "merge FILE...",
		Short: "Join the reports of a sharded scan into one report",
		Long: `merge joins the reports of the shards of one run (kmsrotor scan --shard i/n),
json or jsonl, in any mix, into one report: findings that appear twice (the
same finding_id) are kept once, the summary is recomputed, the errors are
joined and the scan facts combined (accounts and Regions united, the earliest
start, the latest finish, API calls summed).

A shard that is missing (the run had n shards and no file holds shard i) or
incomplete (interrupted, or a jsonl report cut before its summary line) is
named in an error entry, and the merged report is incomplete (exit 4 unless a
key FAILs). Reports of different runs (another run_id) are refused: nothing is
written.` + exitCodeHelp,
		Example: `  kmsrotor merge shard-*.jsonl --output json --output-file report.json
  kmsrotor merge a.json b.jsonl --output table`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Files = args
			if err := o.validate(); err != nil {
				return err
			}
			return runMerge(o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.Output, "output", "o", string(report.FormatJSON), "output format: "+formatList(scanFormats))
	f.StringVar(&o.OutputFile, "output-file", "", "write the report to this file (atomically) instead of stdout")
	return cmd
}

func (o *mergeOptions) abs(p string) string {
	if !filepath.IsAbs(p) && o.env.WorkingDir != "" {
		return filepath.Join(o.env.WorkingDir, p)
	}
	return p
}

// validate checks the flags and that every input is a readable file,
// before anything is read.
func (o *mergeOptions) validate() error {
	format, err := report.ParseFormat(o.Output, scanFormats...)
	if err != nil {
		return usageErr(err)
	}
	o.format = format
	for _, f := range o.Files {
		st, err := os.Stat(o.abs(f))
		switch {
		case err != nil:
			return usagef("%s: %v; name a report written by kmsrotor scan --output json or jsonl", f, errors.Unwrap(err))
		case st.IsDir():
			return usagef("%s is a directory; name the report files", f)
		}
	}
	return checkOutputFile(o.OutputFile, o.env.WorkingDir)
}

func runMerge(o *mergeOptions) error {
	inputs := make([]report.NamedReader, len(o.Files))
	for i, f := range o.Files {
		path := o.abs(f)
		inputs[i] = report.NamedReader{Name: f, Open: func() (io.ReadCloser, error) { return os.Open(path) }}
	}
	var res report.MergeResult
	merge := func(w io.Writer, opts report.Options) error {
		sink, err := report.NewSink(o.format, w, opts)
		if err != nil {
			return err
		}
		res, err = report.Merge(inputs, sink)
		return err
	}
	var err error
	if o.OutputFile == "" {
		err = merge(o.env.Stdout, report.Options{Terminal: o.env.StdoutTTY})
	} else {
		err = writeFileAtomic(o.abs(o.OutputFile), func(w io.Writer) error { return merge(w, report.Options{}) })
	}
	var mixed *report.MixedRunsError
	var bad *report.InputError
	switch {
	case errors.As(err, &mixed):
		return usageErr(mixed)
	case errors.As(err, &bad):
		return usageErr(bad)
	case err != nil:
		return err
	}
	return resultCode(res.Summary.Fail, !res.Complete)
}
