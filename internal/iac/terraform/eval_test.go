package terraform

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kmsrotor/kmsrotor/internal/check"
	"github.com/kmsrotor/kmsrotor/internal/kmskey"
)

// summary is a one-line account of a key and its verdict, for tests on
// small configurations.
func summary(k kmskey.Key) string {
	f := check.Evaluate(k, policy)
	s := fmt.Sprintf("%s %s/%s rot=%s/%d state=%s spec=%s origin=%s", k.Resource, f.Status, f.Reason,
		k.Rotation.Enabled, k.Rotation.PeriodDays, k.State, k.Spec, k.Origin)
	if k.MultiRegionType != "" {
		s += " mr=" + k.MultiRegionType
	}
	if k.PrimaryResource != "" {
		s += " primary=" + k.PrimaryResource
	}
	if len(k.Unresolved) > 0 {
		s += " unresolved=" + strings.Join(k.Unresolved, ",")
	}
	if k.Tags != nil {
		s += fmt.Sprintf(" tags=%v", k.Tags)
	}
	if k.Description != "" {
		s += fmt.Sprintf(" desc=%q", k.Description)
	}
	return s
}

// writeTree writes files (relative path -> content) under a new temporary
// directory and returns it.
func writeTree(t testing.TB, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestLoadSnippets(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		files map[string]string
		dirs  []string // relative to the tree; default "root"
		want  []string // summaries, in LoadDirs order
		diags []string // "file:line: fragment", file relative to the tree
	}{
		{
			name: "tags and description",
			files: map[string]string{"root/main.tf": `
resource "aws_kms_key" "k" {
  description         = "for ${local.team}"
  enable_key_rotation = true
  tags                = { Team = local.team, Cost = 12 }
}
locals { team = "pay" }
`},
			want: []string{`aws_kms_key.k PASS/rotation_enabled rot=true/365 state=Enabled spec=SYMMETRIC_DEFAULT origin=AWS_KMS tags=map[Cost:12 Team:pay] desc="for pay"`},
		},
		{
			name: "unknown for_each",
			files: map[string]string{"root/main.tf": `
variable "keys" { type = map(bool) }
resource "aws_kms_key" "k" {
  for_each            = var.keys
  enable_key_rotation = each.value
}
`},
			want: []string{"aws_kms_key.k[?] MANUAL/unresolved_value rot=unknown/0 state=Enabled spec=SYMMETRIC_DEFAULT origin=AWS_KMS unresolved=rotation"},
		},
		{
			name: "for_each over map of objects with known keys and a value from a variable without default",
			files: map[string]string{"root/main.tf": `
variable "b_rotates" { type = bool }
resource "aws_kms_key" "k" {
  for_each = {
    a = { rotate = true, days = 180 }
    b = { rotate = var.b_rotates, days = 365 }
  }
  enable_key_rotation     = each.value.rotate
  rotation_period_in_days = each.value.days
}
`},
			want: []string{
				`aws_kms_key.k["a"] PASS/rotation_enabled rot=true/180 state=Enabled spec=SYMMETRIC_DEFAULT origin=AWS_KMS`,
				`aws_kms_key.k["b"] MANUAL/unresolved_value rot=unknown/365 state=Enabled spec=SYMMETRIC_DEFAULT origin=AWS_KMS unresolved=rotation`,
			},
		},
		{
			name: "for_each over a list is rejected as Terraform rejects it",
			files: map[string]string{"root/main.tf": `
resource "aws_kms_key" "k" {
  for_each = ["a", "b"]
}
`},
			diags: []string{"root/main.tf:3: for_each requires a map or a set of strings, not tuple"},
		},
		{
			name: "bad counts",
			files: map[string]string{"root/main.tf": `
resource "aws_kms_key" "negative" {
  count = -1
}
resource "aws_kms_key" "fraction" {
  count = 1.5
}
resource "aws_kms_key" "both" {
  count    = 1
  for_each = toset(["a"])
}
resource "aws_kms_key" "zero" {
  count = 0
}
`},
			diags: []string{
				"root/main.tf:3: count must be a whole number at least 0, not -1",
				"root/main.tf:6: count must be a whole number at least 0, not 1.5",
				"root/main.tf:8: count and for_each cannot both be set",
			},
		},
		{
			name: "rotation depends on count.index and count is unknown",
			files: map[string]string{"root/main.tf": `
variable "n" { type = number }
resource "aws_kms_key" "k" {
  count               = var.n
  enable_key_rotation = count.index > 0
}
`},
			want: []string{"aws_kms_key.k[?] MANUAL/unresolved_value rot=unknown/0 state=Enabled spec=SYMMETRIC_DEFAULT origin=AWS_KMS unresolved=rotation"},
		},
		{
			name: "a cycle of locals is unknown, not a crash",
			files: map[string]string{"root/main.tf": `
locals {
  a = local.b
  b = local.a
}
resource "aws_kms_key" "k" {
  enable_key_rotation = local.a
}
`},
			want: []string{"aws_kms_key.k MANUAL/unresolved_value rot=unknown/0 state=Enabled spec=SYMMETRIC_DEFAULT origin=AWS_KMS unresolved=rotation"},
		},
		{
			name: "a module that calls itself",
			files: map[string]string{"root/main.tf": `
module "self" {
  source = "./"
}
resource "aws_kms_key" "k" {}
`},
			want:  []string{"aws_kms_key.k FAIL/rotation_disabled rot=false/0 state=Enabled spec=SYMMETRIC_DEFAULT origin=AWS_KMS"},
			diags: []string{`root/main.tf:2: module "self" calls ./, which is already being evaluated`},
		},
		{
			name: "two directories that call each other",
			files: map[string]string{
				"a/main.tf": `
module "b" {
  source = "../b"
}
resource "aws_kms_key" "ka" {}
`,
				"b/main.tf": `
module "a" {
  source = "../a"
}
resource "aws_kms_key" "kb" {}
`,
			},
			dirs: []string{"a", "b"},
			want: []string{
				"aws_kms_key.ka FAIL/rotation_disabled rot=false/0 state=Enabled spec=SYMMETRIC_DEFAULT origin=AWS_KMS",
				"module.b.aws_kms_key.kb FAIL/rotation_disabled rot=false/0 state=Enabled spec=SYMMETRIC_DEFAULT origin=AWS_KMS",
			},
			diags: []string{`b/main.tf:2: module "a" calls ../a, which is already being evaluated`},
		},
		{
			name: "nested modules pass a variable down two levels",
			files: map[string]string{
				"root/main.tf": `
module "a" {
  source = "../a"
  rotate = true
}
`,
				"a/main.tf": `
variable "rotate" {}
module "b" {
  source = "../b"
  rotate = var.rotate
}
`,
				"b/main.tf": `
variable "rotate" {}
resource "aws_kms_key" "k" {
  enable_key_rotation = var.rotate
}
`,
			},
			dirs: []string{"root", "a", "b"},
			want: []string{"module.a.module.b.aws_kms_key.k PASS/rotation_enabled rot=true/365 state=Enabled spec=SYMMETRIC_DEFAULT origin=AWS_KMS"},
		},
		{
			name: "module called with an unknown count, and a module output through for_each",
			files: map[string]string{
				"root/main.tf": `
variable "n" { type = number }
module "m" {
  source = "./mod"
  count  = var.n
}
module "each" {
  for_each = toset(["x"])
  source   = "./mod"
}
resource "aws_kms_replica_key" "r" {
  primary_key_arn = module.each["x"].arn
}
`,
				"root/mod/main.tf": `
resource "aws_kms_key" "k" {
  multi_region        = true
  enable_key_rotation = true
}
output "arn" { value = aws_kms_key.k.arn }
`,
			},
			want: []string{
				`aws_kms_replica_key.r PASS/rotation_enabled rot=true/365 state=Enabled spec=SYMMETRIC_DEFAULT origin=AWS_KMS mr=REPLICA primary=module.each["x"].aws_kms_key.k`,
				`module.each["x"].aws_kms_key.k PASS/rotation_enabled rot=true/365 state=Enabled spec=SYMMETRIC_DEFAULT origin=AWS_KMS mr=PRIMARY`,
				`module.m[?].aws_kms_key.k PASS/rotation_enabled rot=true/365 state=Enabled spec=SYMMETRIC_DEFAULT origin=AWS_KMS mr=PRIMARY`,
			},
		},
		{
			name: "replica primaries: a conditional that resolves, one that does not, a replica of a replica, a registry module",
			files: map[string]string{"root/main.tf": `
variable "use_a" {
  default = true
}
variable "unknown" { type = bool }
resource "aws_kms_key" "a" {
  multi_region        = true
  enable_key_rotation = true
}
resource "aws_kms_key" "b" {
  multi_region = true
}
resource "aws_kms_replica_key" "known_choice" {
  primary_key_arn = var.use_a ? aws_kms_key.a.arn : aws_kms_key.b.arn
}
resource "aws_kms_replica_key" "unknown_choice" {
  primary_key_arn = var.unknown ? aws_kms_key.a.arn : aws_kms_key.b.arn
}
resource "aws_kms_replica_key" "of_replica" {
  primary_key_arn = aws_kms_replica_key.known_choice.arn
}
module "registry" {
  source = "terraform-aws-modules/kms/aws"
}
resource "aws_kms_replica_key" "of_registry" {
  primary_key_arn = module.registry.key_arn
}
`},
			want: []string{
				"aws_kms_key.a PASS/rotation_enabled rot=true/365 state=Enabled spec=SYMMETRIC_DEFAULT origin=AWS_KMS mr=PRIMARY",
				"aws_kms_key.b FAIL/rotation_disabled rot=false/0 state=Enabled spec=SYMMETRIC_DEFAULT origin=AWS_KMS mr=PRIMARY",
				"aws_kms_replica_key.known_choice PASS/rotation_enabled rot=true/365 state=Enabled spec=SYMMETRIC_DEFAULT origin=AWS_KMS mr=REPLICA primary=aws_kms_key.a",
				"aws_kms_replica_key.unknown_choice MANUAL/unresolved_value rot=unknown/0 state=Enabled spec= origin=AWS_KMS mr=REPLICA unresolved=rotation,spec,usage",
				"aws_kms_replica_key.of_replica MANUAL/unresolved_value rot=unknown/0 state=Enabled spec= origin=AWS_KMS mr=REPLICA unresolved=rotation,spec,usage",
				"aws_kms_replica_key.of_registry MANUAL/unresolved_value rot=unknown/0 state=Enabled spec= origin=AWS_KMS mr=REPLICA unresolved=rotation,spec,usage",
				// Not downloaded (terraform init): its keys are unknown.
				"module.registry MANUAL/unresolved_value rot=unknown/0 state=Enabled spec=SYMMETRIC_DEFAULT origin=AWS_KMS unresolved=rotation",
			},
			diags: []string{"root/main.tf:20: aws_kms_replica_key.of_replica: primary_key_arn names aws_kms_replica_key.known_choice, which is itself a replica"},
		},
		{
			name: "what the provider rejects or converts",
			files: map[string]string{"root/main.tf": `
resource "aws_kms_key" "xks_alone" {
  xks_key_id = "xks-1"
}
resource "aws_kms_key" "period_alone" {
  rotation_period_in_days = 180
}
resource "aws_kms_key" "fraction" {
  enable_key_rotation     = true
  rotation_period_in_days = 365.5
}
resource "aws_kms_key" "string_bool" {
  enable_key_rotation = "true"
  is_enabled          = null
}
resource "aws_kms_key" "bad_bool" {
  enable_key_rotation = "yes"
}
resource "aws_kms_key" "dup" {}
`, "root/dup.tf": `
resource "aws_kms_key" "dup" {
  enable_key_rotation = true
}
`},
			want: []string{
				"aws_kms_key.bad_bool MANUAL/unresolved_value rot=unknown/0 state=Enabled spec=SYMMETRIC_DEFAULT origin=AWS_KMS unresolved=rotation",
				// dup.tf sorts first, so its declaration is the one kept.
				"aws_kms_key.dup PASS/rotation_enabled rot=true/365 state=Enabled spec=SYMMETRIC_DEFAULT origin=AWS_KMS",
				"aws_kms_key.fraction MANUAL/unresolved_value rot=true/0 state=Enabled spec=SYMMETRIC_DEFAULT origin=AWS_KMS unresolved=period",
				"aws_kms_key.period_alone FAIL/rotation_disabled rot=false/180 state=Enabled spec=SYMMETRIC_DEFAULT origin=AWS_KMS",
				"aws_kms_key.string_bool PASS/rotation_enabled rot=true/365 state=Enabled spec=SYMMETRIC_DEFAULT origin=AWS_KMS",
				"aws_kms_key.xks_alone FAIL/rotation_disabled rot=false/0 state=Enabled spec=SYMMETRIC_DEFAULT origin=AWS_KMS",
			},
			diags: []string{
				"root/main.tf:3: xks_key_id requires custom_key_store_id",
				"root/main.tf:6: rotation_period_in_days requires enable_key_rotation",
				"root/main.tf:10: rotation_period_in_days must be a whole number",
				"root/main.tf:17: enable_key_rotation: bool is required",
				"root/main.tf:19: duplicate resource aws_kms_key.dup; it is first declared at ",
			},
		},
		{
			name: "unknown spec, multi_region, state and workspace",
			files: map[string]string{"root/main.tf": `
variable "spec" { type = string }
variable "mr" { type = bool }
variable "on" { type = bool }
resource "aws_kms_key" "spec" {
  customer_master_key_spec = var.spec
  enable_key_rotation      = true
}
resource "aws_kms_key" "mr" {
  multi_region        = var.mr
  enable_key_rotation = true
}
resource "aws_kms_key" "state" {
  is_enabled = var.on
}
resource "aws_kms_key" "workspace" {
  enable_key_rotation = terraform.workspace == "prod"
}
`},
			want: []string{
				"aws_kms_key.mr PASS/rotation_enabled rot=true/365 state=Enabled spec=SYMMETRIC_DEFAULT origin=AWS_KMS unresolved=multi_region",
				"aws_kms_key.spec MANUAL/unresolved_value rot=true/365 state=Enabled spec= origin=AWS_KMS unresolved=spec",
				"aws_kms_key.state MANUAL/unresolved_value rot=false/0 state= spec=SYMMETRIC_DEFAULT origin=AWS_KMS unresolved=state",
				"aws_kms_key.workspace MANUAL/unresolved_value rot=unknown/0 state=Enabled spec=SYMMETRIC_DEFAULT origin=AWS_KMS unresolved=rotation",
			},
		},
		{
			name: "external keys and their replicas",
			files: map[string]string{"root/main.tf": `
resource "aws_kms_external_key" "off" {
  enabled = false
}
resource "aws_kms_external_key" "p" {
  multi_region = true
}
resource "aws_kms_replica_external_key" "r" {
  primary_key_arn = aws_kms_external_key.p.arn
}
`},
			want: []string{
				"aws_kms_external_key.off SKIPPED/key_disabled rot=false/0 state=Disabled spec=SYMMETRIC_DEFAULT origin=EXTERNAL",
				"aws_kms_external_key.p MANUAL/imported_key_material rot=false/0 state=Enabled spec=SYMMETRIC_DEFAULT origin=EXTERNAL mr=PRIMARY",
				"aws_kms_replica_external_key.r MANUAL/imported_key_material rot=false/0 state=Enabled spec=SYMMETRIC_DEFAULT origin=EXTERNAL mr=REPLICA primary=aws_kms_external_key.p",
			},
		},
		{
			name: "optional object attributes, ignored files and a JSON count",
			files: map[string]string{
				"root/main.tf": `
variable "cfg" {
  type = object({
    rotate = optional(bool, true)
    days   = optional(number)
  })
  default = {}
}
resource "aws_kms_key" "k" {
  enable_key_rotation     = var.cfg.rotate
  rotation_period_in_days = var.cfg.days
}
`,
				"root/.hidden.tf":   "this is { not hcl",
				"root/#backup.tf":   "this is { not hcl",
				"root/main.tf~":     "this is { not hcl",
				"root/keys.tf.json": `{"resource": {"aws_kms_key": {"j": {"count": 2, "enable_key_rotation": "${count.index == 1}"}}}}`,
			},
			want: []string{
				"aws_kms_key.j[0] FAIL/rotation_disabled rot=false/0 state=Enabled spec=SYMMETRIC_DEFAULT origin=AWS_KMS",
				"aws_kms_key.j[1] PASS/rotation_enabled rot=true/365 state=Enabled spec=SYMMETRIC_DEFAULT origin=AWS_KMS",
				"aws_kms_key.k PASS/rotation_enabled rot=true/365 state=Enabled spec=SYMMETRIC_DEFAULT origin=AWS_KMS",
			},
		},
		{
			name: "the flatten idiom with nested for expressions",
			files: map[string]string{"root/main.tf": `
locals {
  tenants = {
    acme   = ["data", "logs"]
    globex = ["data"]
  }
  keys = { for pair in flatten([for t, uses in local.tenants : [for u in uses : { name = "${t}-${u}", rotate = u == "data" }]]) : pair.name => pair }
}
resource "aws_kms_key" "k" {
  for_each            = local.keys
  enable_key_rotation = each.value.rotate
}
`},
			want: []string{
				`aws_kms_key.k["acme-data"] PASS/rotation_enabled rot=true/365 state=Enabled spec=SYMMETRIC_DEFAULT origin=AWS_KMS`,
				`aws_kms_key.k["acme-logs"] FAIL/rotation_disabled rot=false/0 state=Enabled spec=SYMMETRIC_DEFAULT origin=AWS_KMS`,
				`aws_kms_key.k["globex-data"] PASS/rotation_enabled rot=true/365 state=Enabled spec=SYMMETRIC_DEFAULT origin=AWS_KMS`,
			},
		},
		{
			name: "values too costly to compute are unknown",
			files: map[string]string{"root/main.tf": `
locals {
  a    = [for i in range(1024) : i]
  grid = [for x in local.a : [for y in local.a : y]]
  s0   = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
  s1   = "${local.s0}${local.s0}${local.s0}${local.s0}${local.s0}${local.s0}${local.s0}${local.s0}"
  s2   = "${local.s1}${local.s1}${local.s1}${local.s1}${local.s1}${local.s1}${local.s1}${local.s1}"
  s3   = "${local.s2}${local.s2}${local.s2}${local.s2}${local.s2}${local.s2}${local.s2}${local.s2}"
  s4   = "${local.s3}${local.s3}${local.s3}${local.s3}${local.s3}${local.s3}${local.s3}${local.s3}"
  s5   = "${local.s4}${local.s4}${local.s4}${local.s4}${local.s4}${local.s4}${local.s4}${local.s4}"
  s6   = "${local.s5}${local.s5}${local.s5}${local.s5}${local.s5}${local.s5}${local.s5}${local.s5}"
}
resource "aws_kms_key" "grid" {
  enable_key_rotation = length(local.grid) > 0
}
resource "aws_kms_key" "doubling" {
  enable_key_rotation = length(local.s6) > 0
}
resource "aws_kms_key" "indent" {
  enable_key_rotation = length(indent(200000000, "a\nb")) > 0
}
resource "aws_kms_key" "product" {
  enable_key_rotation = length(setproduct(range(100), range(100))) > 0
}
`},
			want: []string{
				"aws_kms_key.doubling MANUAL/unresolved_value rot=unknown/0 state=Enabled spec=SYMMETRIC_DEFAULT origin=AWS_KMS unresolved=rotation",
				"aws_kms_key.grid MANUAL/unresolved_value rot=unknown/0 state=Enabled spec=SYMMETRIC_DEFAULT origin=AWS_KMS unresolved=rotation",
				"aws_kms_key.indent MANUAL/unresolved_value rot=unknown/0 state=Enabled spec=SYMMETRIC_DEFAULT origin=AWS_KMS unresolved=rotation",
				"aws_kms_key.product MANUAL/unresolved_value rot=unknown/0 state=Enabled spec=SYMMETRIC_DEFAULT origin=AWS_KMS unresolved=rotation",
			},
			diags: []string{"root/main.tf:4: nested for expressions here may run more than 100000 iterations"},
		},
		{
			name: "a variable value of the wrong type",
			files: map[string]string{
				"root/main.tf": `
variable "days" { type = number }
resource "aws_kms_key" "k" {
  enable_key_rotation     = true
  rotation_period_in_days = var.days
}
`,
				"root/terraform.tfvars": `days = "ninety"`,
			},
			want:  []string{"aws_kms_key.k MANUAL/unresolved_value rot=true/0 state=Enabled spec=SYMMETRIC_DEFAULT origin=AWS_KMS unresolved=period"},
			diags: []string{`root/terraform.tfvars:1: variable "days": the value does not match its type number`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			root := writeTree(t, tc.files)
			dirs := tc.dirs
			if dirs == nil {
				dirs = []string{"root"}
			}
			var abs []string
			for _, d := range dirs {
				abs = append(abs, filepath.Join(root, d))
			}
			res := LoadDirs(abs, Options{})
			var got []string
			for _, k := range res.Keys {
				got = append(got, summary(k))
			}
			// The corpus order is by file then line; these snippets compare
			// as sorted text.
			slices.Sort(got)
			want := slices.Clone(tc.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("LoadDirs(%s):\ngot  %s\nwant %s", tc.name, strings.Join(got, "\n     "), strings.Join(want, "\n     "))
			}
			var gotDiags []string
			for _, d := range res.Diags {
				rel, _ := filepath.Rel(root, d.File)
				gotDiags = append(gotDiags, fmt.Sprintf("%s:%d: %s", filepath.ToSlash(rel), d.Line, d.Message))
			}
			if len(gotDiags) != len(tc.diags) {
				t.Fatalf("LoadDirs(%s) diagnostics:\ngot  %s\nwant %s", tc.name, strings.Join(gotDiags, "\n     "), strings.Join(tc.diags, "\n     "))
			}
			for i := range gotDiags {
				file, frag, _ := strings.Cut(tc.diags[i], ": ")
				if !strings.HasPrefix(gotDiags[i], file+": ") || !strings.Contains(gotDiags[i], frag) {
					t.Errorf("LoadDirs(%s) diagnostic %d: got %q, want %q", tc.name, i, gotDiags[i], tc.diags[i])
				}
			}
		})
	}
}
