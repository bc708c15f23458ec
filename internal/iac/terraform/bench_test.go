package terraform

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// writeCorpus writes n aws_kms_key resources, half of them rotating: one
// main.tf in each of n directories, or n files in one directory.
func writeCorpus(b *testing.B, n int, oneDir bool) []string {
	b.Helper()
	root := b.TempDir()
	var dirs []string
	for i := range n {
		dir, name := filepath.Join(root, fmt.Sprintf("d%04d", i)), "main.tf"
		if oneDir {
			dir, name = root, fmt.Sprintf("key%04d.tf", i)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		src := fmt.Sprintf(`resource "aws_kms_key" "k%d" {
  description             = "key %d"
  deletion_window_in_days = 30
  enable_key_rotation     = %t
}
`, i, i, i%2 == 0)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			b.Fatal(err)
		}
		if !oneDir || i == 0 {
			dirs = append(dirs, dir)
		}
	}
	return dirs
}

func benchLoad(b *testing.B, dirs []string, want int) {
	start := cpuTime()
	for b.Loop() {
		res := LoadDirs(dirs, Options{})
		if len(res.Keys) != want || len(res.Diags) != 0 {
			b.Fatalf("LoadDirs: %d keys, %d diagnostics; want %d keys, none", len(res.Keys), len(res.Diags), want)
		}
	}
	if cpu := cpuTime() - start; cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}

// BenchmarkLoadDirs2000 loads 2,000 directories of one main.tf each (the
// issue's first corpus); cpu-ns/op is the CPU time of all threads.
func BenchmarkLoadDirs2000(b *testing.B) {
	benchLoad(b, writeCorpus(b, 2000, false), 2000)
}

// BenchmarkLoadOneDir2000Files loads 2,000 .tf files in one directory.
func BenchmarkLoadOneDir2000Files(b *testing.B) {
	benchLoad(b, writeCorpus(b, 2000, true), 2000)
}
