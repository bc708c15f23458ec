package terraform

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/kmsrotor/kmsrotor/internal/iac/limit"
)

// limitDiag is the diagnostic of a file over a limit of package limit.
func limitDiag(path string, err error) hcl.Diagnostics {
	return hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  err.Error(),
		Subject:  &hcl.Range{Filename: path, Start: hcl.InitialPos, End: hcl.InitialPos},
	}}
}

// parseExpression is hclsyntax.ParseExpression for text read out of a
// string (HCL-JSON's type constraints), with the nesting bound of files.
func parseExpression(src []byte, filename string, start hcl.Pos) (hclsyntax.Expression, hcl.Diagnostics) {
	if err := limit.Brackets(src); err != nil {
		return nil, limitDiag(filename, err)
	}
	return hclsyntax.ParseExpression(src, filename, start)
}
