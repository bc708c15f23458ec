package cloudformation

import (
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/kmsrotor/kmsrotor/internal/iac/diag"
	"github.com/kmsrotor/kmsrotor/internal/kmskey"
)

// Property names of AWS::KMS::Key and AWS::KMS::ReplicaKey (kms-api.md §10).
const (
	propEnableKeyRotation    = "EnableKeyRotation"
	propRotationPeriodInDays = "RotationPeriodInDays"
	propKeySpec              = "KeySpec"
	propKeyUsage             = "KeyUsage"
	propOrigin               = "Origin"
	propMultiRegion          = "MultiRegion"
	propEnabled              = "Enabled"
	propDescription          = "Description"
	propTags                 = "Tags"
	propPrimaryKeyArn        = "PrimaryKeyArn"
)

// keySpecs are the KeySpec values of the KMS API (kms-api.md §3). The 2024
// CloudFormation schema lists fewer; accepting the API's list keeps newer
// templates readable.
var keySpecs = kmskey.KeySpecs()

// cfnOrigins are the Origin values CloudFormation accepts: custom key stores
// are not supported in CloudFormation (kms-api.md §10).
var cfnOrigins = []string{kmskey.OriginAWSKMS, kmskey.OriginExternal}

// keys converts every AWS::KMS::Key and AWS::KMS::ReplicaKey of the template.
// Replicas come second so that they can share their primary's facts.
func (t *template) keys() []kmskey.Key {
	resources := t.eachResource()
	var keys []kmskey.Key
	primaries := map[string]kmskey.Key{}
	for _, r := range resources {
		if r.typ != TypeKey {
			continue
		}
		k := t.kmsKey(r)
		primaries[r.id] = k
		if t.exists(r) {
			keys = append(keys, k)
		}
	}
	for _, r := range resources {
		if r.typ == TypeReplicaKey && t.exists(r) {
			keys = append(keys, t.replicaKey(r, primaries))
		}
	}
	slices.SortStableFunc(keys, func(a, b kmskey.Key) int { return a.StartLine - b.StartLine })
	return keys
}

// exists decides a resource's Condition. A condition that resolves false
// means the resource is never created, so it has no key. One that cannot be
// resolved still gives a key: it may exist, and whether it rotates if it
// does is what the check is about.
func (t *template) exists(r resource) bool {
	c := deref(lookup(r.body, "Condition"))
	if c == nil || c.Kind != yaml.ScalarNode {
		return true
	}
	return t.condition(c.Value, 0) != triFalse
}

func (t *template) baseKey(r resource) kmskey.Key {
	k := kmskey.Key{
		Source:    kmskey.SourceCloudFormation,
		File:      t.file,
		StartLine: r.startLine,
		EndLine:   r.endLine,
		Resource:  r.id,
		Manager:   kmskey.ManagerCustomer,
		State:     kmskey.StateEnabled,
	}
	// A synthesized template's key is named by its construct, which is
	// what the user edits.
	if InCDKOut(t.file) {
		if p := cdkPath(r.body); p != "" {
			k.Resource = p
		}
	}
	return k
}

// properties returns the resolved Properties mapping of a resource; ok is
// false when Properties is itself computed (Fn::If, Fn::Transform), so no
// property is known.
func (t *template) properties(r resource) (props *yaml.Node, ok bool) {
	n := lookup(r.body, "Properties")
	if n == nil {
		return nil, true
	}
	v := t.resolve(n, 0)
	switch {
	case v.kind == vAbsent:
		return nil, true
	case v.kind == vLiteral && v.node != nil && v.node.Kind == yaml.MappingNode:
		return v.node, true
	}
	return nil, false
}

// kmsKey reads an AWS::KMS::Key with CloudFormation's defaults: rotation
// off, 365 days when on, SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT, AWS_KMS,
// single-Region, Enabled.
func (t *template) kmsKey(r resource) kmskey.Key {
	k := t.baseKey(r)
	k.Spec, k.Usage, k.Origin = kmskey.SpecSymmetricDefault, kmskey.UsageEncryptDecrypt, kmskey.OriginAWSKMS
	props, ok := t.properties(r)
	if !ok {
		k.Unresolved = []string{kmskey.AttrState, kmskey.AttrSpec, kmskey.AttrUsage, kmskey.AttrOrigin,
			kmskey.AttrMultiRegion, kmskey.AttrRotation, kmskey.AttrPeriod}
		return k
	}
	p := propReader{t: t, props: props, key: &k}

	if s, ok := p.str(propDescription); ok {
		k.Description = s
	}
	k.Tags = t.tags(lookup(props, propTags))
	if s, ok := p.enum(propKeySpec, kmskey.AttrSpec, keySpecs); ok {
		k.Spec = s
	}
	if s, ok := p.enum(propKeyUsage, kmskey.AttrUsage, kmskey.KeyUsages); ok {
		k.Usage = s
	}
	if s, ok := p.enum(propOrigin, kmskey.AttrOrigin, cfnOrigins); ok {
		k.Origin = s
	}
	if b, ok := p.boolean(propMultiRegion, kmskey.AttrMultiRegion, false); ok && b {
		k.MultiRegion, k.MultiRegionType = true, kmskey.MultiRegionPrimary
	}
	if b, ok := p.boolean(propEnabled, kmskey.AttrState, true); ok && !b {
		k.State = kmskey.StateDisabled
	}

	rot, rotKnown := p.boolean(propEnableKeyRotation, kmskey.AttrRotation, false)
	if rotKnown {
		k.Rotation.Enabled = kmskey.BoolOf(rot)
	}
	// PeriodDays is kept even when rotation is off: the template states it,
	// and a fix that turns rotation on must know it.
	if n, set, ok := p.period(); ok {
		if set {
			k.Rotation.PeriodDays = n
		} else if !rotKnown || rot {
			k.Rotation.PeriodDays = kmskey.DefaultRotationPeriodDays
		}
	}
	return k
}

// replicaKey reads an AWS::KMS::ReplicaKey. Rotation, spec, usage and origin
// are shared with the primary (kms-api.md §4.13), so they are known only when
// PrimaryKeyArn is !GetAtt of an AWS::KMS::Key in the same template.
func (t *template) replicaKey(r resource, primaries map[string]kmskey.Key) kmskey.Key {
	k := t.baseKey(r)
	k.MultiRegion, k.MultiRegionType = true, kmskey.MultiRegionReplica
	props, ok := t.properties(r)
	if !ok {
		k.Unresolved = []string{kmskey.AttrState, kmskey.AttrRotation}
		return k
	}
	p := propReader{t: t, props: props, key: &k}
	if s, ok := p.str(propDescription); ok {
		k.Description = s
	}
	k.Tags = t.tags(lookup(props, propTags))
	if b, ok := p.boolean(propEnabled, kmskey.AttrState, true); ok && !b {
		k.State = kmskey.StateDisabled
	}

	arn := lookup(props, propPrimaryKeyArn)
	if id, ok := getAttArn(arn); ok {
		if prim, ok := primaries[id]; ok {
			k.PrimaryResource = id
			k.Spec, k.Usage, k.Origin = prim.Spec, prim.Usage, prim.Origin
			k.Rotation = prim.Rotation
			for _, a := range []string{kmskey.AttrSpec, kmskey.AttrUsage, kmskey.AttrOrigin, kmskey.AttrRotation, kmskey.AttrPeriod} {
				if prim.IsUnresolved(a) {
					k.Unresolved = append(k.Unresolved, a)
				}
			}
			return k
		}
	}
	if v := t.resolve(arn, 0); v.kind == vLiteral && v.scalar {
		k.PrimaryARN = v.s
		if parts := strings.Split(v.s, ":"); len(parts) > 3 && parts[0] == "arn" {
			k.PrimaryRegion = parts[3]
		}
	}
	// The primary lives elsewhere: its rotation cannot be known from here.
	k.Unresolved = append(k.Unresolved, kmskey.AttrRotation)
	return k
}

// getAttArn recognises !GetAtt P.Arn, {"Fn::GetAtt": ["P", "Arn"]} and
// {"Fn::GetAtt": "P.Arn"}, and returns P.
func getAttArn(n *yaml.Node) (string, bool) {
	name, arg, ok := intrinsic(deref(n))
	if !ok || name != "Fn::GetAtt" {
		return "", false
	}
	arg = deref(arg)
	switch {
	case arg == nil:
	case arg.Kind == yaml.ScalarNode:
		if id, attr, ok := strings.Cut(arg.Value, "."); ok && attr == "Arn" {
			return id, true
		}
	case arg.Kind == yaml.SequenceNode && len(arg.Content) == 2:
		id, attr := deref(arg.Content[0]), deref(arg.Content[1])
		if id != nil && attr != nil && id.Kind == yaml.ScalarNode && attr.Kind == yaml.ScalarNode && attr.Value == "Arn" {
			return id.Value, true
		}
	}
	return "", false
}

// tags reads a literal Tags list of {Key, Value}; entries that are not
// literal are left out.
func (t *template) tags(n *yaml.Node) map[string]string {
	v := t.resolve(n, 0)
	if v.kind != vLiteral || v.scalar || len(v.list) == 0 {
		return nil
	}
	out := map[string]string{}
	for _, e := range v.list {
		if e.kind != vLiteral || e.node == nil || e.node.Kind != yaml.MappingNode {
			continue
		}
		k, val := t.resolve(lookup(e.node, "Key"), 0), t.resolve(lookup(e.node, "Value"), 0)
		if k.kind == vLiteral && k.scalar && val.kind == vLiteral && val.scalar {
			out[k.s] = val.s
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// propReader reads the properties of one key, recording in the key each
// fact it cannot resolve and in the template each literal AWS would reject.
type propReader struct {
	t     *template
	props *yaml.Node
	key   *kmskey.Key
}

func (p propReader) unresolved(attr string) {
	if attr != "" && !p.key.IsUnresolved(attr) {
		p.key.Unresolved = append(p.key.Unresolved, attr)
	}
}

// get resolves a property; set is false when it is absent (default applies).
func (p propReader) get(name, attr string) (v value, node *yaml.Node, set bool) {
	node = lookup(p.props, name)
	v = p.t.resolve(node, 0)
	switch v.kind {
	case vAbsent:
		return v, node, false
	case vUnknown:
		p.unresolved(attr)
		return v, node, false
	}
	return v, node, true
}

func (p propReader) str(name string) (string, bool) {
	v, _, set := p.get(name, "")
	if !set || !v.scalar {
		return "", false
	}
	return v.s, true
}

func (p propReader) enum(name, attr string, allowed []string) (string, bool) {
	v, node, set := p.get(name, attr)
	if !set {
		return "", false
	}
	if !v.scalar || !slices.Contains(allowed, v.s) {
		if len(allowed) <= 5 {
			p.t.diag(node, diag.CodeInvalidValue, "%s: %s %s is not one of %s", p.key.Resource, name, show(v), strings.Join(allowed, ", "))
		} else {
			p.t.diag(node, diag.CodeInvalidValue, "%s: %s %s is not a value AWS accepts", p.key.Resource, name, show(v))
		}
		p.unresolved(attr)
		return "", false
	}
	return v.s, true
}

// boolean reads a boolean property; an absent one is def. ok is false when
// the value cannot be known.
func (p propReader) boolean(name, attr string, def bool) (b, ok bool) {
	v, node, set := p.get(name, attr)
	if !set {
		return def, !p.key.IsUnresolved(attr)
	}
	b, ok = boolOf(v)
	if !ok {
		p.t.diag(node, diag.CodeInvalidValue, "%s: %s %s is not a boolean", p.key.Resource, name, show(v))
		p.unresolved(attr)
	}
	return b, ok
}

// period reads RotationPeriodInDays: set is false when it is absent, ok is
// false when it cannot be known or is outside the range AWS accepts, which
// fails the deployment, so the effective period is unknown.
func (p propReader) period() (n int, set, ok bool) {
	v, node, set := p.get(propRotationPeriodInDays, kmskey.AttrPeriod)
	if !set {
		return 0, false, !p.key.IsUnresolved(kmskey.AttrPeriod)
	}
	n, isInt := intOf(v)
	if !isInt || !kmskey.ValidRotationPeriod(n) {
		p.t.diag(node, diag.CodeInvalidValue, "%s: %s %s is outside the range AWS accepts (%d to %d days)",
			p.key.Resource, propRotationPeriodInDays, show(v), kmskey.MinRotationPeriodDays, kmskey.MaxRotationPeriodDays)
		p.unresolved(kmskey.AttrPeriod)
		return 0, true, false
	}
	return n, true, true
}

func show(v value) string {
	if v.scalar {
		return `"` + v.s + `"`
	}
	return "(a list or mapping)"
}
