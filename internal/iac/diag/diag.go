// Package diag is the one Diagnostic type of the IaC sources: iac and its
// Terraform and CloudFormation packages report problems with their input
// files in it (they alias it as iac.Diagnostic, terraform.Diagnostic and
// cloudformation.Diagnostic).
package diag

// Diagnostic codes. Both languages use ParseError for syntax (and
// configurations their tool rejects) and InvalidValue for values AWS or the
// provider would reject; ReadError and FixError are a file that cannot be
// read and a fix that cannot be written.
const (
	CodeParseError   = "ParseError"
	CodeInvalidValue = "InvalidValue"
	CodeReadError    = "ReadError"
	CodeFixError     = "FixError"
	// CodeOutsideRoot: a symbolic link leads out of the paths scanned, or
	// a fix would write outside them; it is left alone.
	CodeOutsideRoot = "OutsideRoot"
)

// Diagnostic is a problem with an input file, at a line when it has one.
type Diagnostic struct {
	File string
	Line int
	// Code is one of the codes above.
	Code    string
	Message string
}
