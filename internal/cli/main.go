// Package cli holds kmsrotor's commands: one file per command, flags bound
// into an options struct, behaviour in runX(ctx, opts). Exit codes are decided
// in exit.go only.
package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/kmsrotor/kmsrotor/internal/check"
	"github.com/kmsrotor/kmsrotor/internal/report"
)

// Version is set at build time with -ldflags "-X .../internal/cli.Version=…".
var Version = "0.1.0-dev"

// Env is what a command may use of the process: streams, whether stdout is
// a terminal, environment variables and the time. Tests build one with buffers.
type Env struct {
	Stdin      io.Reader
	Stdout     io.Writer
	Stderr     io.Writer
	StdoutTTY  bool
	StdinTTY   bool
	StderrTTY  bool
	Getenv     func(string) string
	LookupEnv  func(string) (string, bool)
	Now        func() time.Time
	Context    context.Context
	WorkingDir string
}

// System is the Env of the running process. Its context is cancelled on
// the first SIGINT or SIGTERM, with the signal as its cause, so a command
// stops and writes what it has; a second signal exits at once.
func System() *Env {
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		first := <-sigs
		cancel(&signalError{name: signalName(first)})
		<-sigs
		fmt.Fprintln(os.Stderr, "kmsrotor: interrupted twice: exiting now; a report being written is incomplete")
		os.Exit(130)
	}()
	wd, _ := os.Getwd()
	return &Env{
		Stdin:      os.Stdin,
		Stdout:     os.Stdout,
		Stderr:     os.Stderr,
		StdoutTTY:  isTerminal(os.Stdout),
		StdinTTY:   isTerminal(os.Stdin),
		StderrTTY:  isTerminal(os.Stderr),
		Getenv:     os.Getenv,
		LookupEnv:  os.LookupEnv,
		Now:        time.Now,
		Context:    ctx,
		WorkingDir: wd,
	}
}

// signalError is the cause of a context cancelled by a signal.
type signalError struct{ name string }

func (e *signalError) Error() string { return "interrupted by " + e.name }

func signalName(s os.Signal) string {
	if s == syscall.SIGTERM {
		return "SIGTERM"
	}
	return "SIGINT"
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// Main runs kmsrotor with args and returns the process exit code.
func Main(args []string, env *Env) int {
	if env.Context == nil {
		env.Context = context.Background()
	}
	if env.Now == nil {
		env.Now = time.Now
	}
	if env.Getenv == nil {
		env.Getenv = func(string) string { return "" }
	}
	if env.LookupEnv == nil {
		env.LookupEnv = func(k string) (string, bool) { v := env.Getenv(k); return v, v != "" }
	}
	root := newRootCmd(env)
	root.SetArgs(args)
	root.SetIn(env.Stdin)
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	err := root.ExecuteContext(env.Context)
	return exitCode(err, env.Stderr)
}

func newRootCmd(env *Env) *cobra.Command {
	root := &cobra.Command{
		Use:   "kmsrotor",
		Short: "Find, fix and prove rotation of AWS KMS customer-managed keys",
		Long: `kmsrotor checks that AWS KMS customer-managed keys rotate their key material
(the check kms_cmk_rotation_enabled), on live accounts and in Terraform and
CloudFormation files.` + exitCodeHelp,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       Version,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageErr(err) })
	root.AddCommand(newScanCmd(env), newIacCmd(env), newEmulatorCmd(env))
	root.AddCommand(newMergeCmd(env))
	root.AddCommand(newFixCmd(env))
	root.AddCommand(newRotateNowCmd(env))
	root.AddCommand(newIAMPolicyCmd(env))
	return root
}

// batchGC trades heap for time in a command that is a short batch job
// (kmsrotor iac, kmsrotor scan): the garbage collector runs at GOGC=400
// unless the user chose GOGC, under a soft memory limit of batchMemoryLimit
// unless the user chose GOMEMLIMIT, so that a scan of any size stays in the
// memory it needs for its concurrency (the limit only makes the collector
// run sooner as the heap nears it). It returns the function that restores
// the previous settings, since tests run many commands in one process.
func batchGC(env *Env) (restore func()) {
	oldPercent, oldLimit := -2, int64(-1)
	if env.Getenv("GOGC") == "" {
		oldPercent = debug.SetGCPercent(400)
	}
	if env.Getenv("GOMEMLIMIT") == "" {
		oldLimit = debug.SetMemoryLimit(batchMemoryLimit)
	}
	return func() {
		if oldPercent != -2 {
			debug.SetGCPercent(oldPercent)
		}
		if oldLimit >= 0 {
			debug.SetMemoryLimit(oldLimit)
		}
	}
}

// batchMemoryLimit is the soft heap limit of a batch command: a scan's live
// heap is a few tens of megabytes whatever the estate's size.
const batchMemoryLimit = 150 << 20

// newDocument starts the report of a run: the tool, the kind of scan, its
// times and the policy it was judged by.
func newDocument(kind string, p check.Policy, started, finished time.Time) *report.Document {
	return &report.Document{
		Tool: report.Tool{Name: "kmsrotor", Version: Version},
		Scan: report.Scan{
			Kind:        kind,
			EvaluatedAt: p.Now.UTC(),
			StartedAt:   started.UTC(),
			FinishedAt:  finished.UTC(),
			DurationMS:  finished.Sub(started).Milliseconds(),
			Policy: report.PolicyFacts{
				MaxRotationDays:   p.MaxRotationDays,
				RotationGraceDays: p.GraceDays,
				IncludeDisabled:   p.IncludeDisabled,
			},
		},
	}
}
