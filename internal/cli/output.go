package cli

import (
	"fmt"
	"io"

	"github.com/kmsrotor/kmsrotor/internal/atomicfile"
	"github.com/kmsrotor/kmsrotor/internal/securityhub"
	"github.com/kmsrotor/kmsrotor/internal/term"
)

// writeFileAtomic writes a whole report to path (iac, merge).
func writeFileAtomic(path string, write func(io.Writer) error) error {
	if err := atomicfile.Write(path, 0o644, write); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

// noColor honours NO_COLOR (https://no-color.org): set and not empty.
func noColor(env *Env) bool { return env.Getenv("NO_COLOR") != "" }

// reportImport says on stderr what the Security Hub import did: how many
// findings it imported, and each one it did not, with Security Hub's
// reason.
func reportImport(env *Env, r securityhub.Result) error {
	fmt.Fprintf(env.Stderr, "kmsrotor: Security Hub: %d findings imported in %d calls", r.Imported, r.Batches)
	if len(r.Failures) == 0 {
		fmt.Fprintln(env.Stderr, ".")
		return nil
	}
	fmt.Fprintf(env.Stderr, "; %d not imported:\n", len(r.Failures))
	for _, f := range r.Failures {
		fmt.Fprintf(env.Stderr, "  %s\n", term.Inert(fmt.Sprintf("%s %s %s: %s: %s", f.AccountID, f.Region, f.KeyARN, f.Code, f.Message)))
	}
	return nil
}
