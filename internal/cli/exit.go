package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/kmsrotor/kmsrotor/internal/term"
)

// Exit codes: the contract of DESIGN.md, decided here only.
const (
	ExitOK         = 0 // nothing failing and the scan complete
	ExitFatal      = 1 // a fatal error
	ExitUsage      = 2 // a usage or configuration error
	ExitFail       = 3 // at least one unmuted FAIL
	ExitIncomplete = 4 // the scan is incomplete (ERROR findings or error entries) and no FAIL
)

const exitCodeHelp = `

Exit codes:
  0  nothing failing and the scan complete
  1  fatal error
  2  usage or configuration error
  3  at least one unmuted FAIL
  4  scan incomplete (errors) and no FAIL`

// usageError is a bad flag, argument or configuration: exit 2.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usageErr(err error) error { return &usageError{err} }

func usagef(format string, a ...any) error { return &usageError{fmt.Errorf(format, a...)} }

// resultError carries the exit code that findings call for (3 or 4); it
// prints nothing, the report has said it all.
type resultError struct{ code int }

func (e *resultError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// resultCode returns nil for a clean result, else the error that exits 3 or 4.
func resultCode(unmutedFails int, incomplete bool) error {
	switch {
	case unmutedFails > 0:
		return &resultError{ExitFail}
	case incomplete:
		return &resultError{ExitIncomplete}
	}
	return nil
}

// exitCode prints err (escaped: it may quote AWS, a file or a path) and
// returns the exit code it calls for.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return ExitOK
	}
	var re *resultError
	if errors.As(err, &re) {
		return re.code
	}
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "kmsrotor: %s\n", term.Inert(ue.Error()))
		return ExitUsage
	}
	if isCobraUsage(err) {
		fmt.Fprintf(stderr, "kmsrotor: %s\nRun 'kmsrotor --help' for usage.\n", term.Inert(err.Error()))
		return ExitUsage
	}
	fmt.Fprintf(stderr, "kmsrotor: %s\n", term.Inert(err.Error()))
	return ExitFatal
}

// isCobraUsage recognises cobra's own argument errors, which are plain errors.
func isCobraUsage(err error) bool {
	s := err.Error()
	return strings.HasPrefix(s, "unknown command") || strings.HasPrefix(s, "unknown flag") ||
		strings.Contains(s, "arg(s)") || strings.HasPrefix(s, "invalid argument")
}
