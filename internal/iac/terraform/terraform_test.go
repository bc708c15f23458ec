package terraform

import (
	"flag"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kmsrotor/kmsrotor/internal/check"
	"github.com/kmsrotor/kmsrotor/internal/kmskey"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// policy is the default policy: rotation at most every 365 days.
var policy = check.DefaultPolicy(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))

// opt adjusts an expected key.
type opt func(*kmskey.Key)

// tfKey is what a bare aws_kms_key gives: every provider default, rotation
// off. opts adjust it.
func tfKey(file, addr string, start, end int, opts ...opt) kmskey.Key {
	k := kmskey.Key{
		Source: kmskey.SourceTerraform, File: file, StartLine: start, EndLine: end, Resource: addr,
		Manager: kmskey.ManagerCustomer, Spec: kmskey.SpecSymmetricDefault, Usage: kmskey.UsageEncryptDecrypt,
		Origin: kmskey.OriginAWSKMS, State: kmskey.StateEnabled,
		Rotation: kmskey.Rotation{Enabled: kmskey.False},
	}
	for _, o := range opts {
		o(&k)
	}
	return k
}

func rotates(days int) opt {
	return func(k *kmskey.Key) { k.Rotation = kmskey.Rotation{Enabled: kmskey.True, PeriodDays: days} }
}

func rotation(b kmskey.Bool) opt { return func(k *kmskey.Key) { k.Rotation.Enabled = b } }

func desc(s string) opt { return func(k *kmskey.Key) { k.Description = s } }

func spec(s, usage string) opt { return func(k *kmskey.Key) { k.Spec, k.Usage = s, usage } }

func origin(o string) opt { return func(k *kmskey.Key) { k.Origin = o } }

func store(id, o string) opt { return func(k *kmskey.Key) { k.CustomKeyStoreID, k.Origin = id, o } }

func state(s string) opt { return func(k *kmskey.Key) { k.State = s } }

func primary() opt {
	return func(k *kmskey.Key) { k.MultiRegion, k.MultiRegionType = true, kmskey.MultiRegionPrimary }
}

func replicaOf(addr string) opt {
	return func(k *kmskey.Key) {
		k.MultiRegion, k.MultiRegionType, k.PrimaryResource = true, kmskey.MultiRegionReplica, addr
	}
}

func unresolved(attrs ...string) opt { return func(k *kmskey.Key) { k.Unresolved = attrs } }

// expect is one key and the check's verdict on it.
type expect struct {
	key    kmskey.Key
	status check.Status
	reason string
}

// diagWant is a diagnostic: its file, line and a fragment of its message.
type diagWant struct {
	file string
	line int
	msg  string
}

var (
	classes = filepath.Join("testdata", "load", "classes", "main.tf")
	tfvars  = filepath.Join("testdata", "load", "tfvars", "main.tf")
	tfjson  = filepath.Join("testdata", "load", "tfvars", "keys.tf.json")
	kmsmod  = filepath.Join("testdata", "load", "modules", "kmsmod", "main.tf")
	live    = filepath.Join("testdata", "load", "modules", "live", "main.tf")
)

const (
	pass    = check.StatusPass
	fail    = check.StatusFail
	manual  = check.StatusManual
	skipped = check.StatusSkipped
)

var loadCases = []struct {
	name  string
	dirs  []string
	opts  Options
	keys  []expect
	diags []diagWant
}{
	{
		name: "every key class",
		dirs: []string{"testdata/load/classes"},
		keys: []expect{
			{tfKey(classes, "aws_kms_key.rotating", 22, 25, desc("symmetric, rotating"), rotates(365)), pass, check.ReasonRotationEnabled},
			{tfKey(classes, "aws_kms_key.not_rotating", 27, 29, desc("symmetric, rotation off by default")), fail, check.ReasonRotationDisabled},
			{tfKey(classes, "aws_kms_key.period_730", 31, 34, rotates(730)), fail, check.ReasonPeriodExceedsPolicy},
			{tfKey(classes, "aws_kms_key.period_var", 36, 39, rotates(180)), pass, check.ReasonRotationEnabled},
			// Trivy and tfsec: false positive.
			{tfKey(classes, "aws_kms_key.rsa_encrypt", 42, 45, spec("RSA_2048", "ENCRYPT_DECRYPT")), skipped, check.ReasonAsymmetricKey},
			{tfKey(classes, "aws_kms_key.rsa_sign", 47, 50, spec("RSA_4096", "SIGN_VERIFY")), skipped, check.ReasonAsymmetricKey},
			{tfKey(classes, "aws_kms_key.ecc", 52, 55, spec("ECC_NIST_P256", "SIGN_VERIFY")), skipped, check.ReasonAsymmetricKey},
			// Checkov, Trivy and tfsec: false positive.
			{tfKey(classes, "aws_kms_key.hmac", 58, 61, spec("HMAC_256", "GENERATE_VERIFY_MAC")), skipped, check.ReasonHMACKey},
			// Every peer: false positive.
			{tfKey(classes, "aws_kms_key.cloudhsm", 64, 66, store("cks-1234567890abcdef0", kmskey.OriginAWSCloudHSM)), skipped, check.ReasonCustomKeyStore},
			{tfKey(classes, "aws_kms_key.xks", 68, 71, store("cks-0fedcba9876543210", kmskey.OriginExternalKeyStore)), skipped, check.ReasonCustomKeyStore},
			{tfKey(classes, "aws_kms_external_key.imported", 73, 75, desc("imported material"), origin(kmskey.OriginExternal)), manual, check.ReasonImportedKeyMaterial},
			{tfKey(classes, "aws_kms_key.primary_rotating", 77, 80, primary(), rotates(365)), pass, check.ReasonRotationEnabled},
			{tfKey(classes, "aws_kms_replica_key.replica_rotating", 82, 84, replicaOf("aws_kms_key.primary_rotating"), rotates(365)), pass, check.ReasonRotationEnabled},
			{tfKey(classes, "aws_kms_key.primary_not_rotating", 86, 88, primary()), fail, check.ReasonRotationDisabled},
			{tfKey(classes, "aws_kms_replica_key.replica_not_rotating", 90, 93, replicaOf("aws_kms_key.primary_not_rotating")), fail, check.ReasonRotationDisabled},
			{tfKey(classes, "aws_kms_replica_key.replica_elsewhere", 95, 97, replicaOf(""), spec("", ""), rotation(kmskey.Unknown),
				func(k *kmskey.Key) {
					k.PrimaryARN = "arn:aws:kms:us-east-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab"
					k.PrimaryRegion = "us-east-1"
				},
				unresolved(kmskey.AttrRotation, kmskey.AttrSpec, kmskey.AttrUsage)), manual, check.ReasonUnresolvedValue},
			{tfKey(classes, "aws_kms_key.disabled", 99, 101, state(kmskey.StateDisabled)), skipped, check.ReasonKeyDisabled},
			// KICS: false negative (a deletion window is not a state).
			{tfKey(classes, "aws_kms_key.deletion_window", 104, 106), fail, check.ReasonRotationDisabled},
			{tfKey(classes, "aws_kms_key.var_no_default", 108, 110, rotation(kmskey.Unknown), unresolved(kmskey.AttrRotation)), manual, check.ReasonUnresolvedValue},
			{tfKey(classes, "aws_kms_key.conditional", 112, 114, rotates(365)), pass, check.ReasonRotationEnabled},
			{tfKey(classes, "aws_kms_key.local", 116, 118, rotates(365)), pass, check.ReasonRotationEnabled},
			{tfKey(classes, "aws_kms_key.data_store", 120, 123, origin(""), rotates(365), unresolved(kmskey.AttrCustomKeyStore, kmskey.AttrOrigin)), manual, check.ReasonUnresolvedValue},
			{tfKey(classes, "aws_kms_key.counted[0]", 125, 128, rotates(365)), pass, check.ReasonRotationEnabled},
			{tfKey(classes, "aws_kms_key.counted[1]", 125, 128), fail, check.ReasonRotationDisabled},
			{tfKey(classes, `aws_kms_key.each["long"]`, 130, 137, rotates(1000)), fail, check.ReasonPeriodExceedsPolicy},
			{tfKey(classes, `aws_kms_key.each["short"]`, 130, 137, rotates(90)), pass, check.ReasonRotationEnabled},
			// count is unknown: one key whose attributes do not depend on count.index.
			{tfKey(classes, "aws_kms_key.unknown_count[?]", 139, 142, rotates(365)), pass, check.ReasonRotationEnabled},
			// The provider rejects 30 days: the period is unknown, as in CloudFormation.
			{tfKey(classes, "aws_kms_key.too_short", 144, 147, rotation(kmskey.True), unresolved(kmskey.AttrPeriod)), manual, check.ReasonUnresolvedValue},
			{tfKey(classes, "aws_kms_key.functions", 149, 151, rotates(365)), pass, check.ReasonRotationEnabled},
			{tfKey(classes, "aws_kms_key.unknown_function", 153, 155, rotation(kmskey.Unknown), unresolved(kmskey.AttrRotation)), manual, check.ReasonUnresolvedValue},
			{tfKey(classes, "aws_kms_replica_key.replica_of_counted[0]", 157, 160, replicaOf("aws_kms_key.counted[0]"), rotates(365)), pass, check.ReasonRotationEnabled},
			{tfKey(classes, "aws_kms_replica_key.replica_of_counted[1]", 157, 160, replicaOf("aws_kms_key.counted[1]")), fail, check.ReasonRotationDisabled},
		},
		diags: []diagWant{
			{classes, 146, "rotation_period_in_days = 30 is outside the range the AWS provider accepts (90 to 2560)"},
			{classes, 159, "replica_of_counted[0]: its primary aws_kms_key.counted[0] is not a multi-Region key"},
			{classes, 159, "replica_of_counted[1]: its primary aws_kms_key.counted[1] is not a multi-Region key"},
		},
	},
	{
		name: "tfvars, auto.tfvars and JSON configuration",
		dirs: []string{"testdata/load/tfvars"},
		keys: []expect{
			// a.auto.tfvars (rotate = true) beats terraform.tfvars (false).
			{tfKey(tfjson, "aws_kms_key.json_key", 4, 7, desc("declared in JSON"), rotates(365)), pass, check.ReasonRotationEnabled},
			{tfKey(tfvars, "aws_kms_key.from_tfvars", 19, 22, rotates(730)), fail, check.ReasonPeriodExceedsPolicy},
			// terraform.tfvars.json sets the spec.
			{tfKey(tfvars, "aws_kms_key.spec_from_json", 24, 26, spec("HMAC_256", "ENCRYPT_DECRYPT")), skipped, check.ReasonHMACKey},
			{tfKey(tfvars, "aws_kms_key.enabled_from_var", 28, 31, rotates(365)), pass, check.ReasonRotationEnabled},
		},
	},
	{
		name: "--var-file, later files winning",
		dirs: []string{"testdata/load/tfvars"},
		opts: Options{VarFiles: []string{"testdata/load/varfiles/one.tfvars", "testdata/load/varfiles/two.tfvars.json"}},
		keys: []expect{
			{tfKey(tfjson, "aws_kms_key.json_key", 4, 7, desc("declared in JSON"), rotates(365)), pass, check.ReasonRotationEnabled},
			// one.tfvars: period = "180", converted to the variable's type.
			{tfKey(tfvars, "aws_kms_key.from_tfvars", 19, 22, rotates(180)), pass, check.ReasonRotationEnabled},
			{tfKey(tfvars, "aws_kms_key.spec_from_json", 24, 26, spec("HMAC_256", "ENCRYPT_DECRYPT")), skipped, check.ReasonHMACKey},
			// two.tfvars.json (enabled = false) beats one.tfvars (true).
			{tfKey(tfvars, "aws_kms_key.enabled_from_var", 28, 31, rotates(365), state(kmskey.StateDisabled)), skipped, check.ReasonKeyDisabled},
		},
	},
	{
		name: "a local module called with different arguments, count and for_each",
		// kmsmod is given too, as the walker finds it; it is evaluated only
		// through its callers.
		dirs: []string{"testdata/load/modules/live", "testdata/load/modules/kmsmod"},
		keys: []expect{
			{tfKey(kmsmod, "module.app.aws_kms_key.this", 10, 14, desc("key for app"), primary(), rotates(365)), pass, check.ReasonRotationEnabled},
			{tfKey(kmsmod, "module.legacy.aws_kms_key.this", 10, 14, desc("key for legacy"), primary()), fail, check.ReasonRotationDisabled},
			{tfKey(kmsmod, "module.pair[0].aws_kms_key.this", 10, 14, desc("key for pair0"), primary(), rotates(365)), pass, check.ReasonRotationEnabled},
			{tfKey(kmsmod, "module.pair[1].aws_kms_key.this", 10, 14, desc("key for pair1"), primary(), rotates(365)), pass, check.ReasonRotationEnabled},
			{tfKey(kmsmod, `module.tenants["a"].aws_kms_key.this`, 10, 14, desc("key for a"), primary(), rotates(365)), pass, check.ReasonRotationEnabled},
			{tfKey(kmsmod, `module.tenants["b"].aws_kms_key.this`, 10, 14, desc("key for b"), primary()), fail, check.ReasonRotationDisabled},
			// A registry module not downloaded: one key at the call, unknown
			// until terraform init.
			{tfKey(live, "module.registry", 26, 29, unresolved(kmskey.AttrRotation), func(k *kmskey.Key) { k.Rotation.Enabled = kmskey.Unknown }), manual, check.ReasonUnresolvedValue},
			// The primary comes through the module's output.
			{tfKey(live, "aws_kms_replica_key.app_replica", 35, 37, replicaOf("module.app.aws_kms_key.this"), rotates(365)), pass, check.ReasonRotationEnabled},
		},
		diags: []diagWant{
			{live, 31, `module "missing": cannot read its source "./does-not-exist"`},
		},
	},
	{
		name: "a module directory on its own is a root with its defaults",
		dirs: []string{"testdata/load/modules/kmsmod"},
		keys: []expect{
			// var.name has no default: the description is unknown, which
			// says nothing about rotation.
			{tfKey(kmsmod, "aws_kms_key.this", 10, 14, primary()), fail, check.ReasonRotationDisabled},
		},
	},
	{
		name: "a file that does not parse does not stop the others",
		dirs: []string{"testdata/load/broken"},
		keys: []expect{
			{tfKey(filepath.Join("testdata", "load", "broken", "good.tf"), "aws_kms_key.fine", 1, 3, rotates(365)), pass, check.ReasonRotationEnabled},
		},
		diags: []diagWant{
			{filepath.Join("testdata", "load", "broken", "bad.tf"), 5, "Invalid expression"},
		},
	},
	{
		name: "override files replace arguments",
		dirs: []string{"testdata/load/override"},
		keys: []expect{
			{tfKey(filepath.Join("testdata", "load", "override", "main.tf"), "aws_kms_key.base", 1, 4, desc("overridden below"), rotates(365)), pass, check.ReasonRotationEnabled},
		},
	},
}

func TestLoadDirsCorpus(t *testing.T) {
	t.Parallel()
	for _, tc := range loadCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := LoadDirs(tc.dirs, tc.opts)
			checkKeys(t, fmt.Sprintf("LoadDirs(%q, %+v)", tc.dirs, tc.opts), res, tc.keys, tc.diags)
		})
	}
}

func checkKeys(t *testing.T, call string, res Result, keys []expect, diags []diagWant) {
	t.Helper()
	for i := range max(len(res.Keys), len(keys)) {
		switch {
		case i >= len(res.Keys):
			t.Errorf("%s: key %d: got none, want %s", call, i, keys[i].key.Resource)
			continue
		case i >= len(keys):
			t.Errorf("%s: key %d: got %s %+v, want none", call, i, res.Keys[i].Resource, res.Keys[i])
			continue
		}
		got, want := res.Keys[i], keys[i]
		if d := keyDiff(got, want.key); d != "" {
			t.Errorf("%s: key %d (%s): %s", call, i, want.key.Resource, d)
		}
		f := check.Evaluate(got, policy)
		if f.Status != want.status || f.Reason != want.reason {
			t.Errorf("%s: %s: check gives %s %s (%s), want %s %s", call, got.Resource, f.Status, f.Reason, f.Message, want.status, want.reason)
		}
	}
	if len(res.Diags) != len(diags) {
		t.Errorf("%s: got %d diagnostics %+v, want %d %+v", call, len(res.Diags), res.Diags, len(diags), diags)
		return
	}
	for i, d := range res.Diags {
		w := diags[i]
		if d.File != w.file || d.Line != w.line || !strings.Contains(d.Message, w.msg) {
			t.Errorf("%s: diagnostic %d: got %s:%d %q, want %s:%d containing %q", call, i, d.File, d.Line, d.Message, w.file, w.line, w.msg)
		}
	}
}

// keyDiff lists the fields in which two keys differ, as got then want.
func keyDiff(got, want kmskey.Key) string {
	var out []string
	gv, wv := reflect.ValueOf(got), reflect.ValueOf(want)
	for i := range gv.NumField() {
		g, w := gv.Field(i).Interface(), wv.Field(i).Interface()
		if !reflect.DeepEqual(g, w) {
			out = append(out, fmt.Sprintf("%s: got %+v, want %+v", gv.Type().Field(i).Name, g, w))
		}
	}
	return strings.Join(out, "; ")
}
