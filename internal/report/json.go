package report

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/kmsrotor/kmsrotor/internal/check"
)

func init() { register(FormatJSON, writeJSON) }

// writeJSON writes the versioned document of DESIGN.md: the Document itself,
// indented by two spaces, with a final newline. Lists are never null, so a
// pipeline can iterate findings and errors without a null check, even when a
// caller forgot Finalize.
func writeJSON(w io.Writer, doc *Document, _ Options) error {
	out := *doc
	if out.SchemaVersion == 0 {
		out.SchemaVersion = SchemaVersion
	}
	out.Findings = make([]check.Finding, len(doc.Findings))
	for i, f := range doc.Findings {
		if f.Aliases == nil {
			f.Aliases = []string{}
		}
		out.Findings[i] = f
	}
	if out.Errors == nil {
		out.Errors = []ScanError{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	// Messages quote resources and fixes ("replica of <ARN>", "a && b"); the
	// document is not embedded in HTML, so keep them readable.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&out); err != nil {
		return fmt.Errorf("write json report: %w", err)
	}
	return nil
}
