package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kmsrotor/kmsrotor/internal/check"
	"github.com/kmsrotor/kmsrotor/internal/iac"
	"github.com/kmsrotor/kmsrotor/internal/kmskey"
	"github.com/kmsrotor/kmsrotor/internal/report"
	"github.com/kmsrotor/kmsrotor/internal/term"
)

// iacOptions are the flags of kmsrotor iac.
type iacOptions struct {
	Paths           []string
	Output          string
	OutputFile      string
	Fix             bool
	Diff            bool
	PeriodDays      int
	MaxRotationDays int
	VarFiles        []string
	ShowSkipped     bool

	// Set by validate.
	format report.Format
	policy check.Policy

	env *Env
}

// iacFormats are the formats of an iac report: all but ASFF, whose
// findings need an AWS account.
var iacFormats = []report.Format{report.FormatTable, report.FormatJSON, report.FormatJSONL, report.FormatSARIF, report.FormatOCSF,
	report.FormatCSV, report.FormatJUnit, report.FormatMarkdown, report.FormatHTML}

func newIacCmd(env *Env) *cobra.Command {
	o := &iacOptions{env: env}
	cmd := &cobra.Command{
		Use:   "iac PATH...",
		Short: "Check Terraform and CloudFormation files for KMS keys that do not rotate, and fix them",
		Long: `kmsrotor iac checks the KMS keys defined in infrastructure-as-code files with
the same rule as the live scan, before they are deployed. Each PATH is a file or a
directory, walked recursively (.git, .terraform and node_modules are skipped;
cdk.out is read: its templates are the synthesized CloudFormation). Formats are
picked by content:

  *.tf, *.tf.json             Terraform configuration, by directory: variables
  *.tofu, *.tofu.json         with defaults, .tfvars and --var-file, locals,
                              count, for_each, local modules and those
                              terraform init downloaded (.terraform/modules);
                              OpenTofu's .tofu files replace the .tf files of
                              the same name
  *.json                      a Terraform plan (terraform show -json), or a
                              CloudFormation template
  *.yaml, *.yml, *.template   CloudFormation templates, SAM included

A value that cannot be resolved statically (a variable without a default, a
condition on the Region) gives MANUAL unresolved_value, never a guess. A file
that does not parse is an error entry (ParseError) with its file and line, and
so is a value AWS or the provider would reject (InvalidValue), which leaves
what it sets unresolved; the other files are still checked.

--fix rewrites the files in place, keeping comments, order and indentation: it
turns rotation on for every key that FAILs (never for replicas, whose primary
is fixed instead), with the rotation period of --rotation-period-days N, or of
--max-rotation-days when the period would exceed it, and removes the rotation
setting of keys that cannot rotate (asymmetric, HMAC, imported material:
invalid_value). N is set on every rotating key whose period differs; N may not
exceed --max-rotation-days, so no key is weakened below the policy. Each value
is changed where it is set: in the resource, a local, a variable's default, a
.tfvars file, the module call (an argument is added there when the module's
variable is left to its default), a CloudFormation parameter's Default. A
value that is also used for something else, or set by an expression, is not
rewritten: the finding says so and names the line. Modules downloaded by
terraform init, synthesized CDK templates (cdk.out, the fix names the
construct's properties) and Terraform plan files are never rewritten, nor is a
file that declares a resource twice. The report shows the findings after the
fix. --diff prints the changes as a unified diff and,
without --fix, writes nothing. The JSON and SARIF reports carry, for each
FAIL, the exact edit --fix makes for it (remediation.edits, SARIF fixes).` + exitCodeHelp,
		Example: `  kmsrotor iac .
  kmsrotor iac infra/ templates/stack.yaml --output sarif --output-file kms.sarif
  kmsrotor iac . --diff
  kmsrotor iac . --fix --rotation-period-days 180
  kmsrotor iac envs/prod --var-file envs/prod/terraform.tfvars`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Paths = args
			if err := o.validate(cmd); err != nil {
				return err
			}
			return runIac(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.Output, "output", "o", string(report.FormatTable), "output format: "+formatList(iacFormats))
	f.StringVar(&o.OutputFile, "output-file", "", "write the report to this file (atomically) instead of stdout")
	f.BoolVar(&o.Fix, "fix", false, "rewrite the files to turn rotation on, then report what is left")
	f.BoolVar(&o.Diff, "diff", false, "print the changes --fix makes as a unified diff (without --fix, write nothing)")
	f.IntVar(&o.PeriodDays, "rotation-period-days", 0, fmt.Sprintf("with --fix or --diff: the rotation period of the keys fixed and of every rotating key whose period differs (%d–%d)",
		kmskey.MinRotationPeriodDays, kmskey.MaxRotationPeriodDays))
	f.IntVar(&o.MaxRotationDays, "max-rotation-days", check.DefaultMaxRotationDays, maxRotationDaysHelp)
	f.StringArrayVar(&o.VarFiles, "var-file", nil, "Terraform .tfvars file for every root module (repeatable)")
	f.BoolVar(&o.ShowSkipped, "show-skipped", false, "list PASS and SKIPPED keys in the table too")
	return cmd
}

// validate checks the flags and their combinations before any file is read.
func (o *iacOptions) validate(cmd *cobra.Command) error {
	format, err := report.ParseFormat(o.Output, iacFormats...)
	if err != nil {
		return usageErr(err)
	}
	o.format = format
	o.policy = check.Policy{MaxRotationDays: o.MaxRotationDays, Now: o.env.Now()}
	if err := o.policy.Validate(); err != nil {
		return usagef("--max-rotation-days: %v", err)
	}
	if cmd.Flags().Changed("rotation-period-days") {
		switch {
		case !o.Fix && !o.Diff:
			return usagef("--rotation-period-days needs --fix or --diff")
		case !kmskey.ValidRotationPeriod(o.PeriodDays):
			return usagef("--rotation-period-days %d is outside the range AWS allows (%d to %d)",
				o.PeriodDays, kmskey.MinRotationPeriodDays, kmskey.MaxRotationPeriodDays)
		case o.MaxRotationDays != 0 && o.PeriodDays > o.MaxRotationDays:
			return usagef("--rotation-period-days %d exceeds --max-rotation-days %d: the fixed keys would still fail", o.PeriodDays, o.MaxRotationDays)
		}
	}
	for i, vf := range o.VarFiles {
		path := o.abs(vf)
		if _, err := os.Stat(path); err != nil {
			return usagef("--var-file %s: %v", vf, errors.Unwrap(err))
		}
		o.VarFiles[i] = path
	}
	// Before --fix rewrites anything: a report that cannot be written must
	// not be found out after the files changed.
	return checkOutputFile(o.OutputFile, o.env.WorkingDir)
}

func (o *iacOptions) abs(path string) string {
	if filepath.IsAbs(path) || o.env.WorkingDir == "" {
		return path
	}
	return filepath.Join(o.env.WorkingDir, path)
}

// runIac checks (and fixes) the files and writes the report; its error
// carries the exit code.
func runIac(ctx context.Context, o *iacOptions) error {
	// A run parses thousands of small files into short-lived trees: a
	// batch job whose garbage collector costs a quarter of its CPU at the
	// default setting (about 90 MB more for 2,000 files).
	defer batchGC(o.env)()
	started := o.env.Now()
	dir := o.env.WorkingDir
	if dir == "" {
		dir, _ = os.Getwd()
	}
	res, err := iac.Run(ctx, iac.Options{
		Paths:      o.Paths,
		Dir:        dir,
		VarFiles:   o.VarFiles,
		Policy:     o.policy,
		Fix:        o.Fix,
		Diff:       o.Diff,
		PeriodDays: o.PeriodDays,
	})
	if errors.Is(err, iac.ErrNoPath) {
		return usagef("%v", err)
	}
	if err != nil {
		return err
	}
	finished := o.env.Now()

	doc := newDocument("iac", o.policy, started, finished)
	doc.Scan.Paths = o.Paths
	doc.Scan.Policy = report.PolicyFacts{MaxRotationDays: o.policy.MaxRotationDays}
	doc.Findings = res.Findings
	for _, d := range res.Diags {
		doc.Errors = append(doc.Errors, report.ScanError{File: d.File, Line: d.Line, Code: d.Code, Message: d.Message})
	}
	doc.Finalize()

	// The diff goes where a human reads it: with the table, or to stderr
	// when stdout carries a machine format.
	if o.Diff {
		w := o.env.Stdout
		if o.OutputFile == "" && o.format != report.FormatTable {
			w = o.env.Stderr
		}
		switch {
		case res.Diff != "":
			io.WriteString(w, res.Diff)
			if o.OutputFile == "" && o.format == report.FormatTable {
				fmt.Fprintln(w)
			}
		case len(res.PlanFiles) == 0:
			// With FAILs in a plan file there is something to change,
			// in the configuration: refusals says so.
			fmt.Fprintln(o.env.Stderr, "kmsrotor: nothing to change")
		}
		if !o.Fix {
			refusals(o.env.Stderr, res)
		}
	}
	if o.Fix {
		fixSummary(o.env.Stderr, res)
	}
	if err := o.writeReport(doc); err != nil {
		return err
	}
	return resultCode(doc.Summary.Fail, !doc.Scan.Complete)
}

// fixSummary tells what --fix wrote. File names and resource addresses
// come from the files: they are escaped, as in the table.
func fixSummary(w io.Writer, res iac.Result) {
	switch len(res.Fixed) {
	case 0:
		fmt.Fprintln(w, "kmsrotor: no file changed")
	default:
		what := "resources"
		if res.FixedKeys == 1 {
			what = "resource"
		}
		fmt.Fprintf(w, "kmsrotor: fixed %d %s in %s\n", res.FixedKeys, what, term.Inert(strings.Join(res.Fixed, ", ")))
	}
	refusals(w, res)
}

// refusals lists the keys a fix could not change, and why, and the plan
// files whose FAILs no fix touches.
func refusals(w io.Writer, res iac.Result) {
	for _, r := range res.Refused {
		fmt.Fprintf(w, "kmsrotor: not fixed: %s:%d %s: %s\n", term.Inert(r.File), r.Line, term.Inert(r.Resource), term.Inert(r.Reason))
	}
	for _, f := range res.PlanFiles {
		fmt.Fprintf(w, "kmsrotor: not fixed: %s: a Terraform plan is not rewritten; fix the .tf files it was made from, then plan again\n", term.Inert(f))
	}
}

// writeReport writes to --output-file atomically, else to stdout.
func (o *iacOptions) writeReport(doc *report.Document) error {
	opts := report.Options{Terminal: o.env.StdoutTTY, ShowSkipped: o.ShowSkipped}
	if o.OutputFile == "" {
		return report.Write(o.env.Stdout, o.format, doc, opts)
	}
	opts.Terminal = false
	return writeFileAtomic(o.abs(o.OutputFile), func(w io.Writer) error {
		return report.Write(w, o.format, doc, opts)
	})
}
