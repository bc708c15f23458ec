package terraform

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/kmsrotor/kmsrotor/internal/kmskey"
)

// loadSource evaluates one in-memory file as a root module, without the
// file system: what LoadDirs does for a directory holding only that file.
func loadSource(path string, src []byte) Result {
	fc := &fileConfig{path: path, override: isOverride(path)}
	extractFile(fc, src)
	dir := filepath.Dir(path)
	l := newLoader()
	l.mods[dir] = assemble(dir, dirListing{configs: []string{path}}, []*fileConfig{fc})
	res := l.evalRoot(dir, varFileValues{vals: map[string]varAssign{}})
	res.Diags = append(res.Diags, l.mods[dir].diags...)
	sortResult(&res)
	return res
}

func addSeeds(f *testing.F, pattern string, add func(src []byte)) {
	files, err := filepath.Glob(pattern)
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range files {
		src, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		add(src)
	}
}

// FuzzLoad feeds arbitrary file content to the configuration loader, as
// native HCL and as HCL-JSON, and to the .tfvars reader: never a panic, and
// every key has an address and lines inside the file.
func FuzzLoad(f *testing.F) {
	for _, pattern := range []string{"testdata/load/*/*.tf", "testdata/load/*/*/*.tf", "testdata/fix/*.tf", "testdata/load/*/*.tf.json"} {
		addSeeds(f, pattern, func(src []byte) { f.Add(src, false); f.Add(src, true) })
	}
	f.Add([]byte(`resource "aws_kms_key" "k" { count = 100000000 }`), false)
	f.Add([]byte(`module "m" { source = "./" }`), false)
	f.Fuzz(func(t *testing.T, src []byte, asJSON bool) {
		path := filepath.Join("fuzz", "main.tf")
		if asJSON {
			path += ".json"
		}
		res := loadSource(path, src)
		lines := bytes.Count(src, []byte{'\n'}) + 1
		for _, k := range res.Keys {
			if k.Resource == "" || k.StartLine < 1 || k.EndLine < k.StartLine || k.EndLine > lines {
				t.Errorf("key %q has lines %d-%d in a file of %d lines", k.Resource, k.StartLine, k.EndLine, lines)
			}
		}
		parseVarFile("fuzz/x.tfvars", src, map[string]varAssign{})
	})
}

// FuzzLoadPlan feeds arbitrary JSON to the plan reader: never a panic.
func FuzzLoadPlan(f *testing.F) {
	addSeeds(f, "testdata/plan/*.json", func(src []byte) { f.Add(src) })
	f.Fuzz(func(t *testing.T, src []byte) {
		if IsPlan(src) {
			LoadPlan("plan.json", src)
		}
	})
}

// FuzzApplyFixes rewrites arbitrary files: never a panic; a rewritten file
// parses, and a second run with the same fixes changes nothing. The fixed
// resource is picked among the file's own blocks, so that most inputs are
// rewritten rather than refused as naming no block.
func FuzzApplyFixes(f *testing.F) {
	addSeeds(f, "testdata/fix/*.tf", func(src []byte) {
		f.Add(src, uint8(0), true, 0)
		f.Add(src, uint8(1), true, 365)
	})
	addSeeds(f, "testdata/load/classes/*.tf", func(src []byte) {
		f.Add(src, uint8(3), true, 180)
	})
	f.Fuzz(func(t *testing.T, src []byte, pick uint8, enable bool, period int) {
		if period != 0 {
			period = kmskey.MinRotationPeriodDays + abs(period)%(kmskey.MaxRotationPeriodDays-kmskey.MinRotationPeriodDays+1)
		}
		resource := "aws_kms_key.none"
		if file, diags := hclsyntax.ParseConfig(src, "fuzz.tf", hcl.InitialPos); !diags.HasErrors() {
			var blocks []*hclsyntax.Block
			for _, b := range file.Body.(*hclsyntax.Body).Blocks {
				if b.Type == "resource" && len(b.Labels) == 2 {
					blocks = append(blocks, b)
				}
			}
			if len(blocks) > 0 {
				b := blocks[int(pick)%len(blocks)]
				resource = b.Labels[0] + "." + b.Labels[1]
			}
		}
		fixes := []Fix{{Resource: resource, EnableRotation: enable, PeriodDays: period}}
		out, err := ApplyFixes("fuzz.tf", src, fixes)
		if err != nil {
			return
		}
		if _, diags := hclsyntax.ParseConfig(out, "fuzz.tf", hcl.InitialPos); diags.HasErrors() {
			t.Fatalf("the rewritten file does not parse: %v\n%s", diags, out)
		}
		again, err := ApplyFixes("fuzz.tf", out, fixes)
		if err != nil {
			t.Fatalf("second run: %v\n%s", err, out)
		}
		if !bytes.Equal(again, out) {
			t.Fatalf("second run changed the file:\nfirst:\n%s\nsecond:\n%s", out, again)
		}
	})
}

func abs(n int) int {
	if n < 0 {
		if -n < 0 {
			return 0
		}
		return -n
	}
	return n
}
