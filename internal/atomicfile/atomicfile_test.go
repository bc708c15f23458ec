package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteFileNew(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "report.json")
	if err := WriteFile(path, []byte("{}\n"), 0o640); err != nil {
		t.Fatalf("WriteFile new file: %v", err)
	}
	b, err := os.ReadFile(path)
	if err != nil || string(b) != "{}\n" {
		t.Errorf("content: got %q, %v; want %q", b, err, "{}\n")
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o640 {
		t.Errorf("mode of a new file: got %v, want 0640", st.Mode().Perm())
	}
}

func TestWriteFileKeepsMode(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "main.tf")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o751); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, []byte("new"), 0o644); err != nil {
		t.Fatalf("WriteFile over an existing file: %v", err)
	}
	b, _ := os.ReadFile(path)
	st, _ := os.Stat(path)
	if string(b) != "new" || st.Mode().Perm() != 0o751 {
		t.Errorf("replaced file: got %q mode %v, want %q mode 0751 (the old file's)", b, st.Mode().Perm(), "new")
	}
}

func TestWriteFailureLeavesFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "report.json")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("disk full")
	err := Write(path, 0o644, func(w io.Writer) error {
		io.WriteString(w, "half")
		return boom
	})
	if !errors.Is(err, boom) {
		t.Errorf("Write with a failing writer: got %v, want the writer's error", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "old" {
		t.Errorf("file after a failed write: got %q, want %q untouched", b, "old")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("directory after a failed write: %v, want only report.json (no temporary file left)", names)
	}
}

func TestWriteMissingDirectory(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "missing", "r.json")
	if err := WriteFile(path, []byte("x"), 0o644); err == nil {
		t.Errorf("WriteFile into a missing directory: got no error")
	}
}
