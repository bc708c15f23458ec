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
//
// With KMSROTOR_TEST_AS_MAIN=1 the test binary is kmsrotor itself, with the
// environment it was given, so that a test can run (and SIGKILL, or
// interrupt) a real process.
func TestMain(m *testing.M) {
	if os.Getenv("KMSROTOR_TEST_AS_MAIN") == "1" {
		os.Exit(Main(os.Args[1:], System()))
	}
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "AWS_") {
			os.Unsetenv(k)
		}
	}
	os.Exit(m.Run())
}
