package kmsemu

import (
	"os"
	"strings"
	"testing"
)

// TestMain keeps the tester's AWS settings out of every test, once, before
// any runs: the SDK clients of the tests are configured explicitly, but
// the SDK falls back to the process environment and shared files for what
// they do not say. Tests then run in parallel.
func TestMain(m *testing.M) {
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "AWS_") {
			os.Unsetenv(k)
		}
	}
	os.Setenv("AWS_CONFIG_FILE", os.DevNull)
	os.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	os.Exit(m.Run())
}
