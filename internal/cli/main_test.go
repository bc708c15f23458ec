package cli

import (
	"os"
	"strings"
	"testing"
)

// TestMain clears the tester's AWS settings from the process environment
// once, before any test runs: commands get their environment injected
// (Env.Getenv), but the SDK still falls back to the process environment for
// what the injected one does not say. Tests then run in parallel.
func TestMain(m *testing.M) {
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "AWS_") {
			os.Unsetenv(k)
		}
	}
	os.Exit(m.Run())
}
