package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestIacFixSymlinks: iac --fix on a path with symbolic links that lead out
// of it (to a template, a directory and a Terraform file) and a module
// called from outside it reports each and writes nothing outside the path; a link inside it is not followed (what
// it leads to is scanned where it is), and stays a link.
func TestIacFixSymlinks(t *testing.T) {
	t.Parallel()
	top := t.TempDir()
	const failingCFN = "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  Key:\n    Type: AWS::KMS::Key\n    Properties:\n      EnableKeyRotation: false\n"
	const failingTF = "resource \"aws_kms_key\" \"k\" {\n  enable_key_rotation = false\n}\n"
	files := map[string]string{
		"outside/stack.yaml":    failingCFN,
		"outside/dir/more.yaml": failingCFN,
		"outside/shared.tf":     strings.Replace(failingTF, `"k"`, `"shared"`, 1),
		"root/main.tf":          failingTF + "module \"m\" {\n  source = \"../outside/mod\"\n}\n",
		"outside/mod/main.tf":   strings.Replace(failingTF, `"k"`, `"in_module"`, 1),
		"root/real/inner.yaml":  failingCFN,
	}
	for name, body := range files {
		path := filepath.Join(top, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{
		"root/link.yaml":  "../outside/stack.yaml",
		"root/linkdir":    "../outside/dir",
		"root/shared.tf":  "../outside/shared.tf",
		"root/inner.yaml": "real/inner.yaml",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(top, name)); err != nil {
			t.Skip("no symbolic links here:", err)
		}
	}

	got := runIacMain(t, top, "root", "--fix")
	if got.code != ExitFail {
		t.Errorf("iac root --fix: exit %d, want %d (the key behind the Terraform link still fails)\nstdout:\n%s\nstderr:\n%s", got.code, ExitFail, got.stdout, got.stderr)
	}
	base := filepath.Join("testdata", "iac", "golden", "fix-symlinks")
	golden(t, base+".stdout", got.stdout)
	golden(t, base+".stderr", got.stderr)

	for _, name := range []string{"outside/stack.yaml", "outside/dir/more.yaml", "outside/shared.tf", "outside/mod/main.tf"} {
		if b, _ := os.ReadFile(filepath.Join(top, name)); string(b) != files[name] {
			t.Errorf("iac root --fix wrote %s, outside root:\n%s", name, b)
		}
	}
	for _, name := range []string{"root/main.tf", "root/real/inner.yaml"} {
		if b, _ := os.ReadFile(filepath.Join(top, name)); string(b) == files[name] {
			t.Errorf("iac root --fix did not fix %s", name)
		}
	}
	for name := range links {
		if st, err := os.Lstat(filepath.Join(top, name)); err != nil || st.Mode()&os.ModeSymlink == 0 {
			t.Errorf("%s is no longer a symbolic link (%v)", name, err)
		}
	}
}

// TestIacFixKeepsMode: a fixed file keeps its permission bits, and no
// temporary file is left beside it.
func TestIacFixKeepsMode(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for name, mode := range map[string]os.FileMode{"a.tf": 0o600, "b.yaml": 0o755} {
		body := "resource \"aws_kms_key\" \"k\" {\n  enable_key_rotation = false\n}\n"
		if filepath.Ext(name) == ".yaml" {
			body = "Resources:\n  K:\n    Type: AWS::KMS::Key\n"
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(body), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
	}
	if got := runIacMain(t, dir, ".", "--fix"); got.code != ExitOK {
		t.Fatalf("iac . --fix: exit %d, want 0\nstdout:\n%s\nstderr:\n%s", got.code, got.stdout, got.stderr)
	}
	for name, mode := range map[string]os.FileMode{"a.tf": 0o600, "b.yaml": 0o755} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil || st.Mode().Perm() != mode {
			t.Errorf("%s after --fix: mode %v (%v), want %v", name, st.Mode().Perm(), err, mode)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*")); len(left) > 0 {
		t.Errorf("--fix left temporary files: %v", left)
	}
}
