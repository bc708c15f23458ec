package cli

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/kmsrotor/kmsrotor/internal/iac/limit"
)

// TestIacLimits runs iac on files over each limit of package limit (size,
// nesting in YAML, JSON and HCL, YAML alias expansion) next to a file that
// is fine: each is one error entry that says what to do, the good file is
// still checked, and the run ends (exit 4: incomplete).
func TestIacLimits(t *testing.T) {
	t.Parallel()
	dir := iacFixture(t, "limits")
	// Files over the size limit are made here, sparse, not checked in.
	for _, name := range []string{"big.yaml", "tf/big.tf"} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte("AWSTemplateFormatVersion: '2010-09-09'\nResources: {}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(path, limit.FileBytes+1); err != nil {
			t.Fatal(err)
		}
	}
	got := runIacMain(t, dir, ".", "--show-skipped")
	if got.code != ExitIncomplete {
		t.Errorf("iac . on files over the limits: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", got.code, ExitIncomplete, got.stdout, got.stderr)
	}
	base := filepath.Join("testdata", "iac", "golden", "limits")
	golden(t, base+".stdout", got.stdout)
	golden(t, base+".stderr", got.stderr)
}
