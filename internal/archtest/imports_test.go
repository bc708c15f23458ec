package archtest

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/kmsrotor/kmsrotor/"

// allowed lists, per package (a path below the module root; iac covers
// internal/iac and its subpackages), the internal packages its non-test
// files may import. DESIGN.md's "Packages" section is the source: arrows
// point down only. A package without a rule fails the test until one is
// written here.
var allowed = map[string][]string{
	"cmd/kmsrotor": {"internal/cli"},
	"internal/cli": {"internal/awskms", "internal/check", "internal/iac", "internal/kmsemu", "internal/kmskey", "internal/report", "internal/remediate", "internal/securityhub", "internal/mutelist", "internal/term", "internal/atomicfile"},
	// securityhub sends report's ASFF findings through awskms's clients.
	"internal/securityhub": {"internal/awskms", "internal/check", "internal/kmskey", "internal/report"},
	// mutelist decides, from check's findings, which are muted.
	"internal/mutelist":   {"internal/check", "internal/kmskey"},
	"internal/remediate":  {"internal/awskms", "internal/check", "internal/iac", "internal/kmskey", "internal/report", "internal/atomicfile"},
	"internal/report":     {"internal/check", "internal/kmskey", "internal/term", "internal/atomicfile"},
	"internal/awskms":     {"internal/kmskey"},
	"internal/iac":        {"internal/check", "internal/kmskey", "internal/atomicfile", "internal/term"},
	"internal/check":      {"internal/kmskey"},
	"internal/kmskey":     {},
	"internal/kmsemu":     {},
	"internal/term":       {},
	"internal/atomicfile": {},
	"internal/archtest":   {},
	// remediatetest is a test double of CloudFormation for remediate's tests.
	"internal/remediate/remediatetest": {},
	// Benchmark tools may use anything but the commands.
	"bench": {"internal/awskms", "internal/check", "internal/iac", "internal/kmsemu", "internal/kmskey", "internal/report"},
}

// standalone packages import no internal package even in their tests, so
// that they could be modules of their own.
var standalone = []string{"internal/kmsemu"}

// rule is the key of allowed that governs pkg.
func rule(pkg string) (string, bool) {
	for _, top := range []string{"internal/iac", "bench"} {
		if pkg == top || strings.HasPrefix(pkg, top+"/") {
			return top, true
		}
	}
	_, ok := allowed[pkg]
	return pkg, ok
}

// imports maps each package directory below root to the module packages
// its files import (test files apart).
func imports(t *testing.T, root string) (code, tests map[string][]string) {
	t.Helper()
	code, tests = map[string][]string{}, map[string][]string{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (name == "testdata" || strings.HasPrefix(name, ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		pkg := filepath.ToSlash(rel)
		into := code
		if strings.HasSuffix(path, "_test.go") {
			into = tests
		}
		if _, ok := into[pkg]; !ok {
			into[pkg] = nil
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if dep, ok := strings.CutPrefix(p, module); ok && dep != pkg && !slices.Contains(into[pkg], dep) {
				into[pkg] = append(into[pkg], dep)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("read the module's imports: %v", err)
	}
	return code, tests
}

func TestImportsPointDown(t *testing.T) {
	t.Parallel()
	code, tests := imports(t, filepath.Join("..", ".."))
	if len(code) < 8 {
		t.Fatalf("found %d packages below the module root, want all of them (is the test run from internal/archtest?)", len(code))
	}
	for pkg, deps := range code {
		r, ok := rule(pkg)
		if !ok {
			t.Errorf("package %s has no import rule: add one to allowed in internal/archtest (and a line to DESIGN.md's Packages)", pkg)
			continue
		}
		for _, dep := range deps {
			if strings.HasPrefix(dep, r+"/") || (r == "internal/iac" && dep == "internal/iac") {
				continue // a package's own subpackages (iac → iac/terraform)
			}
			if !slices.Contains(allowed[r], dep) {
				t.Errorf("%s imports %s; its rule allows only %v (DESIGN.md: arrows point down only)", pkg, dep, allowed[r])
			}
		}
	}
	for pkg, deps := range code {
		if pkg != "cmd/kmsrotor" && slices.Contains(deps, "internal/cli") {
			t.Errorf("%s imports internal/cli; only cmd/kmsrotor may", pkg)
		}
	}
	for _, pkg := range standalone {
		for _, dep := range append(slices.Clone(code[pkg]), tests[pkg]...) {
			if strings.HasPrefix(dep, "internal/") {
				t.Errorf("%s (or its tests) imports %s; it must stand alone, importing no internal package", pkg, dep)
			}
		}
	}
}

// TestRuleCatchesViolations runs the rule on a made-up tree, so that the
// test above cannot pass by reading nothing.
func TestRuleCatchesViolations(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	write := func(rel, src string) {
		path := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("internal/kmskey/k.go", "package kmskey\nimport _ \""+module+"internal/check\"\n")
	write("internal/kmsemu/e_test.go", "package kmsemu\nimport _ \""+module+"internal/kmskey\"\n")
	code, tests := imports(t, root)
	if got := code["internal/kmskey"]; !slices.Equal(got, []string{"internal/check"}) {
		t.Errorf("imports of the made-up kmskey: got %v, want [internal/check]", got)
	}
	if got := tests["internal/kmsemu"]; !slices.Equal(got, []string{"internal/kmskey"}) {
		t.Errorf("test imports of the made-up kmsemu: got %v, want [internal/kmskey]", got)
	}
	if r, _ := rule("internal/kmskey"); slices.Contains(allowed[r], "internal/check") {
		t.Error("kmskey's rule allows internal/check, want no internal import")
	}
}
