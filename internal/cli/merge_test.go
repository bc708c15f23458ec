package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kmsrotor/kmsrotor/internal/check"
	"github.com/kmsrotor/kmsrotor/internal/kmskey"
	"github.com/kmsrotor/kmsrotor/internal/report"
)

func runMergeMain(t *testing.T, dir string, args ...string) iacRun {
	t.Helper()
	var out, errb bytes.Buffer
	env := &Env{
		Stdout:     &out,
		Stderr:     &errb,
		Getenv:     func(string) string { return "" },
		Now:        func() time.Time { return iacNow },
		Context:    t.Context(),
		WorkingDir: dir,
	}
	code := Main(append([]string{"merge"}, args...), env)
	return iacRun{code, out.String(), errb.String()}
}

// shardFile writes shard i of n of run: one key per status given, in the
// format of the file's extension.
func shardFile(t *testing.T, dir, name, run string, i, n int, rotation ...kmskey.Bool) {
	t.Helper()
	doc := newDocument("aws", check.DefaultPolicy(iacNow), iacNow, iacNow.Add(time.Second))
	doc.Scan.RunID, doc.Scan.Shard = run, &report.Shard{Index: i, Count: n}
	acct := strings.Repeat(string(rune('0'+i)), 12)
	doc.Scan.Accounts = []string{acct}
	for j, r := range rotation {
		id := strings.Repeat(string(rune('a'+j)), 8) + "-1111-4a5b-8c9d-000000000000"
		k := kmskey.Key{Source: kmskey.SourceAWS, AccountID: acct, Region: "eu-west-1", KeyID: id,
			ARN: "arn:aws:kms:eu-west-1:" + acct + ":key/" + id, Manager: kmskey.ManagerCustomer,
			Spec: kmskey.SpecSymmetricDefault, Origin: kmskey.OriginAWSKMS, State: kmskey.StateEnabled,
			Rotation: kmskey.Rotation{Enabled: r, PeriodDays: 365}}
		doc.Findings = append(doc.Findings, check.Evaluate(k, check.DefaultPolicy(iacNow)))
	}
	doc.Finalize()
	format := report.FormatJSON
	if strings.HasSuffix(name, ".jsonl") {
		format = report.FormatJSONL
	}
	var b bytes.Buffer
	if err := report.Write(&b, format, doc, report.Options{}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestMergeCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	shardFile(t, dir, "s1.json", "r1", 1, 3, kmskey.True, kmskey.True)
	shardFile(t, dir, "s2.jsonl", "r1", 2, 3, kmskey.True)
	shardFile(t, dir, "s3.json", "r1", 3, 3, kmskey.True)
	shardFile(t, dir, "f3.json", "r1", 3, 3, kmskey.False)
	shardFile(t, dir, "other.json", "r2", 3, 3, kmskey.True)
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name       string
		args       []string
		code       int
		stderr     string
		outputFile bool
	}{
		{"complete", []string{"s1.json", "s2.jsonl", "s3.json"}, ExitOK, "", false},
		{"complete to file", []string{"s1.json", "s2.jsonl", "s3.json", "--output-file", "out.json"}, ExitOK, "", true},
		{"a FAIL", []string{"s1.json", "s2.jsonl", "f3.json", "-o", "jsonl"}, ExitFail, "", false},
		{"missing shard", []string{"s1.json", "s3.json", "-o", "table"}, ExitIncomplete, "", false},
		{"missing shard and a FAIL", []string{"s1.json", "f3.json"}, ExitFail, "", false},
		{"mixed runs", []string{"s1.json", "s2.jsonl", "other.json", "--output-file", "out.json"}, ExitUsage,
			"kmsrotor: cannot merge reports of different runs: s1.json, s2.jsonl (run r1) and other.json (run r2); merge only the shards of one run\n", false},
		{"not a report", []string{"s1.json", "notes.txt", "--output-file", "out.json"}, ExitUsage, "kmsrotor: notes.txt: not a kmsrotor report", false},
		{"no such file", []string{"s1.json", "nope.json"}, ExitUsage, "kmsrotor: nope.json: no such file or directory", false},
		{"bad format", []string{"s1.json", "-o", "sarif"}, ExitUsage, `kmsrotor: unknown output format "sarif": use one of table, json, jsonl, ocsf, asff, csv, junit, markdown, html`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			os.Remove(filepath.Join(dir, "out.json"))
			r := runMergeMain(t, dir, tt.args...)
			if r.code != tt.code || !strings.HasPrefix(r.stderr, tt.stderr) || (tt.stderr == "" && r.stderr != "") {
				t.Fatalf("merge %v: got exit %d, stderr %q; want %d, %q", tt.args, r.code, r.stderr, tt.code, tt.stderr)
			}
			_, err := os.Stat(filepath.Join(dir, "out.json"))
			if got := err == nil; got != tt.outputFile {
				t.Errorf("merge %v: output file written %v, want %v", tt.args, got, tt.outputFile)
			}
			if tt.code == ExitUsage && r.stdout != "" {
				t.Errorf("merge %v: got stdout %q, want nothing written", tt.args, r.stdout)
			}
		})
	}

	// The merged document: 4 keys once each, complete, no shard.
	r := runMergeMain(t, dir, "s1.json", "s2.jsonl", "s3.json", "s1.json")
	var doc report.Document
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Summary.Total != 4 || doc.Summary.Pass != 4 || !doc.Scan.Complete || doc.Scan.Shard != nil || len(doc.Scan.Accounts) != 3 || doc.Scan.RunID != "r1" {
		t.Errorf("merged: got summary %+v, complete %v, shard %v, accounts %v, run %q; want 4 PASS once each, complete, no shard, 3 accounts, r1",
			doc.Summary, doc.Scan.Complete, doc.Scan.Shard, doc.Scan.Accounts, doc.Scan.RunID)
	}
	r = runMergeMain(t, dir, "s1.json", "s3.json", "-o", "table")
	if !strings.Contains(r.stdout, "shard 2/3 of run r1 is missing") {
		t.Errorf("table of a missing shard: got %q, want the missing shard named", r.stdout)
	}
}
