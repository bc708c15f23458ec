package terraform

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/kmsrotor/kmsrotor/internal/kmskey"

	"github.com/kmsrotor/kmsrotor/internal/iac/diag"
	"github.com/kmsrotor/kmsrotor/internal/iac/limit"
)

// planDoc is the part of `terraform show -json` output (a plan, or a state
// with "values") that says anything about KMS keys.
type planDoc struct {
	FormatVersion    *string          `json:"format_version"`
	TerraformVersion *string          `json:"terraform_version"`
	PlannedValues    *planValues      `json:"planned_values"`
	Values           *planValues      `json:"values"`
	ResourceChanges  []resourceChange `json:"resource_changes"`
	Configuration    *planConfig      `json:"configuration"`
}

type planValues struct {
	RootModule *planModule `json:"root_module"`
}

type planModule struct {
	Address      string         `json:"address"`
	Resources    []planResource `json:"resources"`
	ChildModules []planModule   `json:"child_modules"`
}

type planResource struct {
	Address string         `json:"address"`
	Mode    string         `json:"mode"`
	Type    string         `json:"type"`
	Name    string         `json:"name"`
	Values  map[string]any `json:"values"`
}

type resourceChange struct {
	Address string `json:"address"`
	Change  struct {
		AfterUnknown map[string]any `json:"after_unknown"`
	} `json:"change"`
}

type planConfig struct {
	RootModule configModule `json:"root_module"`
}

type configModule struct {
	Resources   []configResource     `json:"resources"`
	ModuleCalls map[string]moduleCfg `json:"module_calls"`
}

type moduleCfg struct {
	Source string       `json:"source"`
	Module configModule `json:"module"`
}

type configResource struct {
	Address     string                     `json:"address"`
	Expressions map[string]json.RawMessage `json:"expressions"`
}

type configExpr struct {
	References []string `json:"references"`
}

// IsPlan reports whether a JSON document is `terraform show -json` output
// (plan or state).
func IsPlan(src []byte) bool {
	trimmed := bytes.TrimLeft(src, " \t\r\n\ufeff")
	if len(trimmed) == 0 || trimmed[0] != '{' || !bytes.Contains(src, []byte(`"format_version"`)) {
		return false
	}
	var probe struct {
		FormatVersion *string         `json:"format_version"`
		Resources     json.RawMessage `json:"Resources"`
	}
	if json.Unmarshal(trimmed, &probe) != nil {
		return false
	}
	// terraform show -json of an empty state is {"format_version":"1.0"}
	// alone; a CloudFormation template never has a top-level format_version
	// but always has Resources.
	return probe.FormatVersion != nil && probe.Resources == nil
}

// LoadPlan reads a plan (planned_values, resource_changes, configuration)
// or a state (values) document. Values unknown until apply (after_unknown)
// are Unresolved, except the arguments whose provider default is known when
// the configuration does not set them. A plan has no per-resource line, so
// each key's StartLine and EndLine are the line where its address first
// appears in the file (1 for the one-line output of terraform show).
func LoadPlan(file string, src []byte) Result {
	var doc planDoc
	dec := json.NewDecoder(bytes.NewReader(bytes.TrimLeft(src, "\ufeff")))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return Result{Diags: []Diagnostic{{File: file, Line: jsonErrorLine(src, err), Code: diag.CodeParseError, Message: fmt.Sprintf("parse terraform plan JSON: %v", err)}}}
	}
	p := &planReader{file: file, doc: &doc, lines: addressLines(src), unknown: make(map[string]map[string]any), config: make(map[string]configResource)}
	for _, rc := range doc.ResourceChanges {
		p.unknown[rc.Address] = rc.Change.AfterUnknown
	}
	if doc.Configuration != nil {
		p.indexConfig("", doc.Configuration.RootModule)
	}
	values := doc.PlannedValues
	if values == nil {
		values = doc.Values
	}
	if values != nil && values.RootModule != nil {
		p.walk(*values.RootModule)
	}
	p.resolveReplicas()
	sortResult(&p.res)
	return p.res
}

type planReader struct {
	file     string
	doc      *planDoc
	lines    map[string]int
	unknown  map[string]map[string]any
	config   map[string]configResource // by module path ("module.a.module.b.") + address
	res      Result
	replicas []planReplica
	arns     map[string]int // a known ARN to the key's index
}

type planReplica struct {
	idx        int
	primaryARN string
	refs       []string // configuration references, module-relative
	prefix     string   // the replica's module instance address, "module.m[0]." or ""
	selfRot    any      // key_rotation_enabled read on the replica (state), if any
	spec       string
	usage      string
}

func (p *planReader) indexConfig(prefix string, m configModule) {
	for _, r := range m.Resources {
		p.config[prefix+r.Address] = r
	}
	for name, c := range m.ModuleCalls {
		p.indexConfig(prefix+"module."+name+".", c.Module)
	}
}

func (p *planReader) walk(m planModule) {
	for _, r := range m.Resources {
		if r.Mode == "managed" && keyTypes[r.Type] {
			p.addKey(r)
		}
	}
	for _, c := range m.ChildModules {
		p.walk(c)
	}
}

// instanceKey matches the instance keys of an address: [0] or ["a"].
var instanceKey = regexp.MustCompile(`\[(?:\d+|"(?:[^"\\]|\\.)*")\]`)

// configAddress turns module.m[0].aws_kms_key.k["a"] into
// module.m.aws_kms_key.k, the address in the configuration section.
func configAddress(addr string) string {
	return instanceKey.ReplaceAllString(addr, "")
}

// modulePrefix returns the module instance part of an address, with its
// trailing dot: module.m[0]. for module.m[0].aws_kms_key.k.
func modulePrefix(addr, typ string) string {
	if i := strings.LastIndex(addr, typ+"."); i > 0 {
		return addr[:i]
	}
	return ""
}

func (p *planReader) addKey(r planResource) {
	unknown := p.unknown[r.Address]
	cfg, hasCfg := p.config[configAddress(r.Address)]
	line := p.lines[r.Address]
	if line == 0 {
		line = 1
	}
	k := kmskey.Key{
		Source:    kmskey.SourceTerraformPlan,
		File:      p.file,
		StartLine: line,
		EndLine:   line,
		Resource:  r.Address,
		Manager:   kmskey.ManagerCustomer,
	}
	v := planAttrs{values: r.Values, unknown: unknown}
	// inConfig reports whether the configuration sets an argument; without a
	// configuration section, assume it may.
	inConfig := func(name string) bool {
		if !hasCfg {
			return true
		}
		_, ok := cfg.Expressions[name]
		return ok
	}
	if s, ok := v.str("description"); ok {
		k.Description = s
	}
	if t, ok := r.Values["tags"].(map[string]any); ok && !v.isUnknown("tags") {
		k.Tags = make(map[string]string, len(t))
		for tk, tv := range t {
			if s, ok := tv.(string); ok {
				k.Tags[tk] = s
			}
		}
	}
	if s, ok := v.str("arn"); ok && s != "" {
		k.ARN = s
	}
	if s, ok := v.str("key_id"); ok && s != "" {
		k.KeyID = s
	}

	switch r.Type {
	case typeKey:
		k.State = v.state(&k, "is_enabled")
		k.Spec = v.enum(&k, "customer_master_key_spec", kmskey.AttrSpec, kmskey.SpecSymmetricDefault)
		k.Usage = v.enum(&k, "key_usage", kmskey.AttrUsage, kmskey.UsageEncryptDecrypt)
		// multi_region is optional and computed: unknown at create when
		// the configuration leaves it out, and then false.
		switch b, known := v.boolean("multi_region"); {
		case !known && inConfig("multi_region"):
			addUnresolved(&k, kmskey.AttrMultiRegion)
		case b:
			k.MultiRegion, k.MultiRegionType = true, kmskey.MultiRegionPrimary
		}
		cks, cksOK := v.str("custom_key_store_id")
		xks, xksOK := v.str("xks_key_id")
		switch {
		case !cksOK:
			addUnresolved(&k, kmskey.AttrCustomKeyStore, kmskey.AttrOrigin)
		case cks != "":
			k.CustomKeyStoreID = cks
			switch {
			case !xksOK:
				addUnresolved(&k, kmskey.AttrOrigin)
			case xks != "":
				k.Origin = kmskey.OriginExternalKeyStore
			default:
				k.Origin = kmskey.OriginAWSCloudHSM
			}
		default:
			k.Origin = kmskey.OriginAWSKMS
		}
		rot, rotKnown := v.boolean("enable_key_rotation")
		switch {
		case !rotKnown:
			k.Rotation.Enabled = kmskey.Unknown
			addUnresolved(&k, kmskey.AttrRotation)
		default:
			k.Rotation.Enabled = kmskey.BoolOf(rot)
		}
		if k.Rotation.Enabled != kmskey.False {
			n, set, known := v.integer("rotation_period_in_days")
			switch {
			case known && set && n > 0:
				k.Rotation.PeriodDays = n
			case !known && inConfig("rotation_period_in_days"):
				addUnresolved(&k, kmskey.AttrPeriod)
			case k.Rotation.Enabled == kmskey.True:
				// Optional and computed: unknown at create when not
				// configured, and then AWS's default.
				k.Rotation.PeriodDays = kmskey.DefaultRotationPeriodDays
			}
		}
	case typeExternalKey:
		k.Origin = kmskey.OriginExternal
		k.State = v.state(&k, "enabled")
		k.Spec = v.enum(&k, "key_spec", kmskey.AttrSpec, kmskey.SpecSymmetricDefault)
		k.Usage = v.enum(&k, "key_usage", kmskey.AttrUsage, kmskey.UsageEncryptDecrypt)
		if b, known := v.boolean("multi_region"); known && b {
			k.MultiRegion, k.MultiRegionType = true, kmskey.MultiRegionPrimary
		}
		k.Rotation.Enabled = kmskey.False
	case typeReplicaKey, typeReplicaExternalKey:
		k.MultiRegion, k.MultiRegionType = true, kmskey.MultiRegionReplica
		k.State = v.state(&k, "enabled")
		k.Origin = kmskey.OriginAWSKMS
		if r.Type == typeReplicaExternalKey {
			k.Origin = kmskey.OriginExternal
			k.Rotation.Enabled = kmskey.False
		}
		rp := planReplica{idx: len(p.res.Keys), prefix: modulePrefix(r.Address, r.Type)}
		// The replica's own key_spec and key_usage (computed, so known in a
		// state) stand in when its primary is not in the document.
		rp.spec, _ = v.str("key_spec")
		rp.usage, _ = v.str("key_usage")
		if s, ok := v.str("primary_key_arn"); ok && s != "" {
			rp.primaryARN = s
			k.PrimaryARN, k.PrimaryRegion = s, arnRegion(s)
		}
		if raw, ok := cfg.Expressions["primary_key_arn"]; ok {
			var ce configExpr
			if json.Unmarshal(raw, &ce) == nil {
				rp.refs = ce.References
			}
		}
		if !v.isUnknown("key_rotation_enabled") {
			rp.selfRot = r.Values["key_rotation_enabled"]
		}
		p.replicas = append(p.replicas, rp)
	}
	if k.ARN != "" {
		if p.arns == nil {
			p.arns = make(map[string]int)
		}
		p.arns[k.ARN] = len(p.res.Keys)
	}
	p.res.Keys = append(p.res.Keys, k)
	var sites KeySites
	sites.DeclaredFile, sites.DeclaredLine = p.declared(r)
	p.res.Sites = append(p.res.Sites, sites)
}

// declared finds the configuration line of a plan's resource: the plan's
// configuration names the module sources, and the file beside the plan
// (or in the local module's directory) that declares the block is read.
// It returns "" when the configuration is not on disk there.
func (p *planReader) declared(r planResource) (string, int) {
	if p.doc == nil || p.doc.Configuration == nil {
		return "", 0
	}
	dir := filepath.Dir(p.file)
	m := p.doc.Configuration.RootModule
	for rest := configAddress(r.Address); strings.HasPrefix(rest, "module."); {
		name, tail, _ := strings.Cut(rest[len("module."):], ".")
		c, ok := m.ModuleCalls[name]
		if !ok || !isLocalSource(c.Source) {
			return "", 0
		}
		dir, m, rest = filepath.Join(dir, filepath.FromSlash(c.Source)), c.Module, tail
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", 0
	}
	decl := regexp.MustCompile(`(?m)^\s*resource\s+"` + regexp.QuoteMeta(r.Type) + `"\s+"` + regexp.QuoteMeta(r.Name) + `"\s*\{`)
	for _, e := range tofuShadowEntries(entries) {
		path := filepath.Join(dir, e)
		src, err := limit.ReadFile(path)
		if err != nil {
			continue
		}
		if loc := decl.FindIndex(src); loc != nil {
			at := loc[0] + bytes.Index(src[loc[0]:loc[1]], []byte("resource"))
			return path, 1 + bytes.Count(src[:at], []byte("\n"))
		}
	}
	return "", 0
}

// tofuShadowEntries lists the native configuration files of a directory,
// without the .tf files a .tofu file replaces.
func tofuShadowEntries(entries []os.DirEntry) []string {
	var names []string
	for _, e := range entries {
		if !e.IsDir() && !ignoredFile(e.Name()) && (strings.HasSuffix(e.Name(), ".tf") || strings.HasSuffix(e.Name(), ".tofu")) {
			names = append(names, e.Name())
		}
	}
	return tofuShadows(names)
}

// resolveReplicas finds each replica's primary: by its known ARN, else by
// the configuration's reference to a resource in the same module instance.
func (p *planReader) resolveReplicas() {
	byAddr := make(map[string]int, len(p.res.Keys))
	for i, k := range p.res.Keys {
		byAddr[k.Resource] = i
	}
	for _, rp := range p.replicas {
		k := &p.res.Keys[rp.idx]
		pi, found := p.arns[rp.primaryARN]
		if rp.primaryARN == "" {
			found = false
		}
		if !found {
			pi, found = p.primaryByRef(rp, byAddr)
		}
		if found && !p.res.Keys[pi].IsReplica() {
			pk := p.res.Keys[pi]
			k.PrimaryResource = pk.Resource
			if k.PrimaryARN == "" && pk.ARN != "" {
				k.PrimaryARN, k.PrimaryRegion = pk.ARN, arnRegion(pk.ARN)
			}
			k.Spec, k.Usage, k.Origin, k.Rotation = pk.Spec, pk.Usage, pk.Origin, pk.Rotation
			for _, a := range []string{kmskey.AttrSpec, kmskey.AttrUsage, kmskey.AttrOrigin, kmskey.AttrCustomKeyStore, kmskey.AttrRotation, kmskey.AttrPeriod} {
				if pk.IsUnresolved(a) {
					addUnresolved(k, a)
				}
			}
			continue
		}
		k.Spec, k.Usage = rp.spec, rp.usage
		if k.Spec == "" {
			addUnresolved(k, kmskey.AttrSpec)
		}
		if k.Usage == "" {
			addUnresolved(k, kmskey.AttrUsage)
		}
		if k.Rotation.Enabled == kmskey.False {
			continue
		}
		// A state records the replica's own rotation status, which is its
		// primary's; the period is not recorded on a replica.
		if b, ok := rp.selfRot.(bool); ok {
			k.Rotation.Enabled = kmskey.BoolOf(b)
			if b {
				addUnresolved(k, kmskey.AttrPeriod)
			}
			continue
		}
		addUnresolved(k, kmskey.AttrRotation, kmskey.AttrPeriod)
	}
}

// primaryByRef resolves a reference like aws_kms_key.p.arn or
// aws_kms_key.p[0].arn within the replica's module instance. The expression
// must refer to one KMS key resource and nothing else (a conditional between
// two keys is not resolved). A reference whose instance key is an expression
// (count.index) lists only the bare resource, which is resolved only when
// that resource has a single instance.
func (p *planReader) primaryByRef(rp planReplica, byAddr map[string]int) (int, bool) {
	var bases, candidates []string
	for _, ref := range rp.refs {
		if !strings.HasPrefix(ref, typeKey+".") && !strings.HasPrefix(ref, typeExternalKey+".") {
			return 0, false
		}
		inst, base := refInstance(ref)
		if !slices.Contains(bases, base) {
			bases = append(bases, base)
		}
		if !slices.Contains(candidates, inst) {
			candidates = append(candidates, inst)
		}
	}
	if len(bases) != 1 {
		return 0, false
	}
	// The most specific reference first: aws_kms_key.p[0] before aws_kms_key.p.
	slices.SortFunc(candidates, func(a, b string) int { return len(b) - len(a) })
	for _, c := range candidates {
		if i, ok := byAddr[rp.prefix+c]; ok {
			return i, true
		}
	}
	return 0, false
}

// refInstance splits a reference such as aws_kms_key.k["a.b"].arn into
// its instance (aws_kms_key.k["a.b"]) and its resource (aws_kms_key.k).
func refInstance(ref string) (inst, base string) {
	typ, rest, _ := strings.Cut(ref, ".")
	n := strings.IndexAny(rest, ".[")
	if n < 0 {
		return ref, ref
	}
	base = typ + "." + rest[:n]
	if rest[n] == '.' {
		return base, base
	}
	if n+1 < len(rest) && rest[n+1] == '"' {
		if end := stringEnd([]byte(rest), n+1); end > 0 && end < len(rest) && rest[end] == ']' {
			return base + rest[n:end+1], base
		}
		return base, base
	}
	if end := strings.IndexByte(rest[n:], ']'); end > 0 {
		return base + rest[n:n+end+1], base
	}
	return base, base
}

// planAttrs reads attribute values of one planned resource.
type planAttrs struct {
	values  map[string]any
	unknown map[string]any
}

func (v planAttrs) isUnknown(name string) bool {
	b, _ := v.unknown[name].(bool)
	return b
}

// str returns a string value; ok is false when it is unknown. A null or
// absent value is "" and ok.
func (v planAttrs) str(name string) (string, bool) {
	if v.isUnknown(name) {
		return "", false
	}
	s, _ := v.values[name].(string)
	return s, true
}

func (v planAttrs) boolean(name string) (b, known bool) {
	if v.isUnknown(name) {
		return false, false
	}
	b, _ = v.values[name].(bool)
	return b, true
}

func (v planAttrs) integer(name string) (n int, set, known bool) {
	if v.isUnknown(name) {
		return 0, false, false
	}
	num, ok := v.values[name].(json.Number)
	if !ok {
		return 0, false, true
	}
	i, err := num.Int64()
	if err != nil || i < 0 || i > 1<<31 {
		return 0, false, true
	}
	return int(i), true, true
}

func (v planAttrs) enum(k *kmskey.Key, name, attr, def string) string {
	s, ok := v.str(name)
	switch {
	case !ok:
		addUnresolved(k, attr)
		return ""
	case s == "":
		return def
	}
	return s
}

func (v planAttrs) state(k *kmskey.Key, name string) string {
	if v.isUnknown(name) {
		addUnresolved(k, kmskey.AttrState)
		return ""
	}
	if b, ok := v.values[name].(bool); ok && !b {
		return kmskey.StateDisabled
	}
	return kmskey.StateEnabled
}

// addressLines maps each resource address to the line where it first
// appears as the value of an "address" member: in planned_values, which
// terraform writes before resource_changes and configuration.
func addressLines(src []byte) map[string]int {
	out := make(map[string]int)
	key := []byte(`"address"`)
	line, scanned := 1, 0
	for at := 0; ; {
		i := bytes.Index(src[at:], key)
		if i < 0 {
			return out
		}
		pos := at + i
		at = pos + len(key)
		j := at
		for j < len(src) && (src[j] == ' ' || src[j] == '\t' || src[j] == '\r' || src[j] == '\n') {
			j++
		}
		if j >= len(src) || src[j] != ':' {
			continue
		}
		j++
		for j < len(src) && (src[j] == ' ' || src[j] == '\t' || src[j] == '\r' || src[j] == '\n') {
			j++
		}
		end := stringEnd(src, j)
		if end < 0 {
			continue
		}
		var addr string
		if json.Unmarshal(src[j:end], &addr) != nil {
			continue
		}
		line += bytes.Count(src[scanned:j], []byte{'\n'})
		scanned = j
		if _, seen := out[addr]; !seen {
			out[addr] = line
		}
		at = end
	}
}

// stringEnd returns the offset just past the JSON string starting at i, or
// -1 if there is none.
func stringEnd(src []byte, i int) int {
	if i >= len(src) || src[i] != '"' {
		return -1
	}
	for j := i + 1; j < len(src); j++ {
		switch src[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}

// jsonErrorLine is the line of a JSON syntax error, or 0.
func jsonErrorLine(src []byte, err error) int {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	var off int64
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	default:
		return 0
	}
	off = min(off, int64(len(src)))
	return 1 + bytes.Count(src[:off], []byte{'\n'})
}
