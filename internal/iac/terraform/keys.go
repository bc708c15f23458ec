package terraform

import (
	"math/big"
	"slices"
	"strings"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/kmsrotor/kmsrotor/internal/kmskey"
)

// keySpecs are the KeySpec values of the KMS API (kms-api.md §3), which the
// provider validates customer_master_key_spec and key_spec against, case
// and all (kms-api.md §11); the provider's range for
// rotation_period_in_days is AWS's, kmskey.MinRotationPeriodDays to
// kmskey.MaxRotationPeriodDays.
var keySpecs = kmskey.KeySpecs()

// argVal is a resource argument after evaluation.
type argVal struct {
	set   bool // written and not null (or unknown)
	known bool
	v     cty.Value // converted and unmarked, when set and known
	line  int
}

func (a argVal) str() string { return a.v.AsString() }

// arg evaluates one argument of a resource instance and converts it to ty,
// as the provider would. An argument set to null is the same as an absent
// one. A value that refers to any resource attribute is unknown, as it is in
// a plan before apply.
func (in *instance) arg(res *resource, name string, r rep, ty cty.Type) argVal {
	a := res.attrs[name]
	if a == nil {
		return argVal{known: true}
	}
	av := argVal{set: true, line: a.Range.Start.Line}
	v, ok := in.evalKnown(a.Expr, r)
	if !ok {
		return av
	}
	if v.IsNull() {
		return argVal{known: true, line: av.line}
	}
	c, err := convert.Convert(v, ty)
	if err != nil {
		in.ev.invalid(res.file, av.line, "%s.%s: %s: %s is required: %v", res.typ, res.name, name, ty.FriendlyName(), err)
		return av
	}
	av.known, av.v = true, c
	return av
}

func addUnresolved(k *kmskey.Key, attrs ...string) {
	for _, a := range attrs {
		if !k.IsUnresolved(a) {
			k.Unresolved = append(k.Unresolved, a)
		}
	}
}

// strArg reads a string argument; the provider treats "" like an absent
// value, which takes the default.
func strArg(k *kmskey.Key, a argVal, attr, def string) string {
	switch {
	case !a.known:
		addUnresolved(k, attr)
		return ""
	case !a.set || a.str() == "":
		return def
	}
	return a.str()
}

// enumArg reads a string argument the provider validates against allowed
// (case-sensitively, as its enum validation does). A value it would
// reject is an InvalidValue diagnostic and leaves the fact unresolved, as
// in CloudFormation: the apply fails, so the key it would have is unknown.
func (in *instance) enumArg(k *kmskey.Key, res *resource, name string, r rep, attr, def string, allowed []string) string {
	a := in.arg(res, name, r, cty.String)
	v := strArg(k, a, attr, def)
	if v == "" || slices.Contains(allowed, v) {
		return v
	}
	hint := ""
	if up := strings.ToUpper(v); slices.Contains(allowed, up) {
		hint = "; values are upper case: " + up
	}
	in.ev.invalid(res.file, a.line, "%s.%s: %s = %q is not a value the AWS provider accepts%s", res.typ, res.name, name, v, hint)
	addUnresolved(k, attr)
	return ""
}

func boolArg(k *kmskey.Key, a argVal, attr string, def bool) kmskey.Bool {
	switch {
	case !a.known:
		addUnresolved(k, attr)
		return kmskey.Unknown
	case !a.set:
		return kmskey.BoolOf(def)
	}
	return kmskey.BoolOf(a.v.True())
}

// pendingReplica is a replica whose primary is looked up once every key of
// the root is known.
type pendingReplica struct {
	idx     int    // index in Result.Keys
	primary string // the primary's absolute address, "" when not resolved
	file    string
	line    int
}

func (in *instance) buildKey(res *resource, r rep) {
	k := kmskey.Key{
		Source:    kmskey.SourceTerraform,
		File:      res.file,
		StartLine: res.startLine,
		EndLine:   res.endLine,
		Resource:  in.prefix + res.typ + "." + res.name + r.suffix(),
		Manager:   kmskey.ManagerCustomer,
	}
	if d := in.arg(res, "description", r, cty.String); d.set && d.known {
		k.Description = d.str()
	}
	if t := in.arg(res, "tags", r, cty.Map(cty.String)); t.set && t.known {
		k.Tags = make(map[string]string)
		for it := t.v.ElementIterator(); it.Next(); {
			key, val := it.Element()
			if !val.IsNull() {
				k.Tags[key.AsString()] = val.AsString()
			}
		}
	}
	var sites KeySites
	if c := in.rootCall(); c != nil {
		sites.CallFile, sites.CallLine, sites.CallName = c.file, c.line, "module."+c.name
	}
	sites.Downloaded = downloaded(res.file)
	switch res.typ {
	case typeKey:
		in.keyFacts(&k, res, r)
		if a := res.attrs["enable_key_rotation"]; a != nil {
			sites.Rotation = in.trace(a.Expr, r, "enable_key_rotation")
		}
		if a := res.attrs["rotation_period_in_days"]; a != nil {
			sites.Period = in.trace(a.Expr, r, "rotation_period_in_days")
		}
	case typeExternalKey:
		in.externalKeyFacts(&k, res, r)
	case typeReplicaKey, typeReplicaExternalKey:
		in.replicaFacts(&k, res, r)
	}
	in.ev.res.Keys = append(in.ev.res.Keys, k)
	in.ev.res.Sites = append(in.ev.res.Sites, sites)
}

// keyFacts reads an aws_kms_key with the provider's defaults (kms-api.md
// §11). deletion_window_in_days is a deletion setting, not a key state, and
// is ignored.
func (in *instance) keyFacts(k *kmskey.Key, res *resource, r rep) {
	k.State = stateArg(k, in.arg(res, "is_enabled", r, cty.Bool))
	k.Spec = in.enumArg(k, res, "customer_master_key_spec", r, kmskey.AttrSpec, kmskey.SpecSymmetricDefault, keySpecs)
	k.Usage = in.enumArg(k, res, "key_usage", r, kmskey.AttrUsage, kmskey.UsageEncryptDecrypt, kmskey.KeyUsages)
	multiRegionArg(k, in.arg(res, "multi_region", r, cty.Bool))

	cks := in.arg(res, "custom_key_store_id", r, cty.String)
	xks := in.arg(res, "xks_key_id", r, cty.String)
	switch {
	case !cks.known:
		addUnresolved(k, kmskey.AttrCustomKeyStore, kmskey.AttrOrigin)
	case cks.set && cks.str() != "":
		k.CustomKeyStoreID = cks.str()
		switch {
		case !xks.known:
			// Both possible origins are custom key stores, but which one
			// is not known.
			addUnresolved(k, kmskey.AttrOrigin)
		case xks.set && xks.str() != "":
			k.Origin = kmskey.OriginExternalKeyStore
		default:
			k.Origin = kmskey.OriginAWSCloudHSM
		}
	default:
		if xks.set {
			in.ev.invalid(res.file, xks.line, "%s.%s: xks_key_id requires custom_key_store_id", res.typ, res.name)
		}
		k.Origin = kmskey.OriginAWSKMS
	}

	rot := in.arg(res, "enable_key_rotation", r, cty.Bool)
	per := in.arg(res, "rotation_period_in_days", r, cty.Number)
	k.Rotation.Enabled = boolArg(k, rot, kmskey.AttrRotation, false)
	if per.set && res.attrs["enable_key_rotation"] == nil {
		in.ev.invalid(res.file, per.line, "%s.%s: rotation_period_in_days requires enable_key_rotation to be set (the provider rejects it alone)", res.typ, res.name)
	}
	period, periodKnown := 0, per.known
	if per.set && per.known {
		n, ok := wholeInt(per.v)
		switch {
		case !ok:
			in.ev.invalid(res.file, per.line, "%s.%s: rotation_period_in_days must be a whole number of days", res.typ, res.name)
			periodKnown = false
		case !kmskey.ValidRotationPeriod(n):
			// The provider rejects the plan, so the key's period is
			// unknown, as CloudFormation's RotationPeriodInDays is.
			in.ev.invalid(res.file, per.line, "%s.%s: rotation_period_in_days = %d is outside the range the AWS provider accepts (%d to %d)", res.typ, res.name, n, kmskey.MinRotationPeriodDays, kmskey.MaxRotationPeriodDays)
			periodKnown = false
		default:
			period = n
		}
	}
	// The period is kept while rotation is off, as CloudFormation's is: the
	// check ignores it then, but a fix that turns rotation on must know the
	// period the key will rotate with.
	switch {
	case !periodKnown:
		addUnresolved(k, kmskey.AttrPeriod)
	case period > 0:
		k.Rotation.PeriodDays = period
	case k.Rotation.Enabled == kmskey.True:
		k.Rotation.PeriodDays = kmskey.DefaultRotationPeriodDays
	}
}

// externalKeyFacts reads an aws_kms_external_key: imported key material,
// which never rotates automatically. Whether it still waits for its
// material (PendingImport) cannot be known statically; it is Enabled unless
// enabled = false.
func (in *instance) externalKeyFacts(k *kmskey.Key, res *resource, r rep) {
	k.Origin = kmskey.OriginExternal
	k.State = stateArg(k, in.arg(res, "enabled", r, cty.Bool))
	// UNCONFIRMED (kms-api.md §13 item 12): the defaults of the newer
	// key_spec and key_usage arguments. CreateKey's documented defaults are
	// used, which is what the provider sent before the arguments existed.
	k.Spec = in.enumArg(k, res, "key_spec", r, kmskey.AttrSpec, kmskey.SpecSymmetricDefault, keySpecs)
	k.Usage = in.enumArg(k, res, "key_usage", r, kmskey.AttrUsage, kmskey.UsageEncryptDecrypt, kmskey.KeyUsages)
	multiRegionArg(k, in.arg(res, "multi_region", r, cty.Bool))
	// The provider has no rotation argument here; one written anyway is
	// rotation asked of imported material, which cannot rotate.
	k.Rotation.Enabled = boolArg(k, in.arg(res, "enable_key_rotation", r, cty.Bool), kmskey.AttrRotation, false)
}

// replicaFacts reads an aws_kms_replica_key or aws_kms_replica_external_key.
// Its spec, usage and rotation are its primary's, filled in by
// resolveReplicas once all keys are known.
func (in *instance) replicaFacts(k *kmskey.Key, res *resource, r rep) {
	k.MultiRegion, k.MultiRegionType = true, kmskey.MultiRegionReplica
	k.State = stateArg(k, in.arg(res, "enabled", r, cty.Bool))
	// The provider reads an aws_kms_replica_key only with origin AWS_KMS;
	// replicas of imported keys are aws_kms_replica_external_key.
	k.Origin = kmskey.OriginAWSKMS
	if res.typ == typeReplicaExternalKey {
		k.Origin = kmskey.OriginExternal
		k.Rotation.Enabled = kmskey.False
	}
	p := pendingReplica{idx: len(in.ev.res.Keys), file: res.file, line: res.startLine}
	if a := res.attrs["primary_key_arn"]; a != nil {
		p.line = a.Range.Start.Line
		v, diags := in.eval(a.Expr, r)
		if !diags.HasErrors() {
			v, marks := v.UnmarkDeep()
			known := v.IsKnown() && !v.IsNull() && v.Type() == cty.String
			switch {
			case known && len(marks) == 0:
				k.PrimaryARN = v.AsString()
				k.PrimaryRegion = arnRegion(k.PrimaryARN)
			case known:
				addr, ok := strings.CutPrefix(v.AsString(), placeholderARN)
				if _, marked := marks[refMark{addr: addr, attr: "arn"}]; ok && marked {
					p.primary = addr
				}
			}
		}
	}
	in.ev.replicas = append(in.ev.replicas, p)
}

// resolveReplicas copies each replica's primary's facts into it. A replica
// whose primary is not a resource of this configuration (a literal ARN, a
// data source, an unknown value) has unknown spec and rotation.
func (ev *rootEval) resolveReplicas() {
	if len(ev.replicas) == 0 {
		return
	}
	byAddr := make(map[string]int, len(ev.res.Keys))
	for i, k := range ev.res.Keys {
		byAddr[k.Resource] = i
	}
	for _, p := range ev.replicas {
		k := &ev.res.Keys[p.idx]
		pi, found := byAddr[p.primary]
		if found && ev.res.Keys[pi].IsReplica() {
			ev.invalid(p.file, p.line, "%s: primary_key_arn names %s, which is itself a replica; a replica's primary must be a multi-Region primary key", k.Resource, p.primary)
			found = false
		}
		if !found {
			unknownPrimary(k)
			continue
		}
		pk := ev.res.Keys[pi]
		if !pk.MultiRegion && !pk.IsUnresolved(kmskey.AttrMultiRegion) {
			ev.invalid(p.file, p.line, "%s: its primary %s is not a multi-Region key (multi_region is not true), so AWS cannot replicate it", k.Resource, pk.Resource)
		}
		k.PrimaryResource = pk.Resource
		k.Spec, k.Usage, k.Origin, k.Rotation = pk.Spec, pk.Usage, pk.Origin, pk.Rotation
		for _, a := range []string{kmskey.AttrSpec, kmskey.AttrUsage, kmskey.AttrOrigin, kmskey.AttrCustomKeyStore, kmskey.AttrRotation, kmskey.AttrPeriod} {
			if pk.IsUnresolved(a) {
				addUnresolved(k, a)
			}
		}
	}
}

// unknownPrimary fills in a replica whose primary is not a resource of this
// configuration (a literal ARN, a data source, an unknown value): what it
// shares with its primary is unknown.
//
// An aws_kms_replica_key's rotation is unresolved, and so are its spec and
// usage: replicas of asymmetric and HMAC multi-Region keys exist, and the
// check reports the first of these it cannot decide (the spec).
//
// An aws_kms_replica_external_key has imported key material, whatever its
// primary: it never rotates automatically. Its spec is left empty, unknown
// but not unresolved: it would only decide between MANUAL
// imported_key_material and SKIPPED for an asymmetric key, neither of which
// rotates, and the resource type says the material is imported.
func unknownPrimary(k *kmskey.Key) {
	if k.Origin == kmskey.OriginExternal {
		k.Rotation.Enabled = kmskey.False
		return
	}
	// The period follows the rotation: it is not reported apart.
	addUnresolved(k, kmskey.AttrRotation, kmskey.AttrSpec, kmskey.AttrUsage)
	k.Rotation.Enabled = kmskey.Unknown
}

func stateArg(k *kmskey.Key, a argVal) string {
	switch boolArg(k, a, kmskey.AttrState, true) {
	case kmskey.True:
		return kmskey.StateEnabled
	case kmskey.False:
		return kmskey.StateDisabled
	}
	return ""
}

func multiRegionArg(k *kmskey.Key, a argVal) {
	if boolArg(k, a, kmskey.AttrMultiRegion, false) == kmskey.True {
		k.MultiRegion, k.MultiRegionType = true, kmskey.MultiRegionPrimary
	}
}

// wholeInt returns a number as an int when it is whole and of a sane size.
func wholeInt(v cty.Value) (int, bool) {
	i, acc := v.AsBigFloat().Int64()
	if acc != big.Exact || i < -1<<31 || i > 1<<31 {
		return 0, false
	}
	return int(i), true
}

// arnRegion returns the Region of an ARN (arn:PARTITION:kms:REGION:...).
func arnRegion(arn string) string {
	parts := strings.SplitN(arn, ":", 5)
	if len(parts) < 5 || parts[0] != "arn" {
		return ""
	}
	return parts[3]
}
