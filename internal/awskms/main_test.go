package awskms

import (
	"os"
	"strings"
	"testing"
)

// TestMain clears the tester's AWS settings from the process environment
// once, before any test runs: the tests build their configuration
// explicitly (StaticConfig, or LoadConfig with an injected environment), but
// the SDK falls back to the process environment for what they do not say.
// Tests then run in parallel.
func TestMain(m *testing.M) {
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "AWS_") {
			os.Unsetenv(k)
		}
	}
	os.Exit(m.Run())
}
