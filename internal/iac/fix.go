package iac

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/kmsrotor/kmsrotor/internal/atomicfile"
	"github.com/kmsrotor/kmsrotor/internal/check"
	"github.com/kmsrotor/kmsrotor/internal/iac/cloudformation"
	"github.com/kmsrotor/kmsrotor/internal/iac/terraform"
	"github.com/kmsrotor/kmsrotor/internal/kmskey"
)

// fixTarget is one resource block to change.
type fixTarget struct {
	file      string
	line      int
	endLine   int
	resources []string // the addresses of every key the block defines
	keys      []int    // their indexes in the keys planned
	source    kmskey.Source
	enable    bool
	period    int
	// remove takes rotation off a key that cannot rotate (invalid_value).
	remove bool
	// sites, for Terraform, say where the key's values are set.
	sites terraform.KeySites
	// rotationOff: the key's rotation is known to be off.
	rotationOff bool
	// ops are the fix's edits (planOps).
	ops []fixOp
}

// refusalKey names a key whose fix was refused: its file and address.
type refusalKey struct{ file, resource string }

// blockKey names a resource block: its file and first line, and where
// its values are set when not in the block (each module instance may pass
// its own).
type blockKey struct {
	file     string
	line     int
	rot, per string
}

func siteID(s *terraform.Site) string {
	if s == nil {
		return ""
	}
	return fmt.Sprintf("%s:%d:%d:%t:%s", s.File, s.Line, s.Start, s.Insert, s.Arg)
}

// fileChange is one file's content before and after a round of fixes, and
// the addresses of the keys the change fixes.
type fileChange struct {
	before, after []byte
	resources     []string
}

// plan decides which keys to fix and how. Fixed are FAILs for rotation off,
// a period over the policy, or rotation on for a key that cannot rotate
// (invalid_value: the setting is removed) and, when a period is asked for
// (--rotation-period-days N, which the command keeps within the policy),
// every key that rotates with another period than N. Never fixed:
// replicas (their rotation is their primary's, which is fixed instead),
// plan files (fix the configuration), and every class that cannot rotate
// (they are not FAIL).
func plan(opts Options, keys []kmskey.Key, findings []check.Finding, sites []terraform.KeySites) []fixTarget {
	byBlock := map[blockKey]int{} // index in targets
	var targets []fixTarget
	for i, k := range keys {
		f := findings[i]
		if k.IsReplica() || (k.Source != kmskey.SourceTerraform && k.Source != kmskey.SourceCloudFormation) {
			continue
		}
		var period int
		remove := false
		switch {
		case f.Status == check.StatusFail && (f.Reason == check.ReasonRotationDisabled || f.Reason == check.ReasonPeriodExceedsPolicy):
			period = periodFor(opts, k)
		case f.Status == check.StatusFail && f.Reason == check.ReasonInvalidValue:
			remove = true
		case opts.PeriodDays != 0 && f.Status == check.StatusPass && f.Reason == check.ReasonRotationEnabled &&
			k.Rotation.PeriodDays != opts.PeriodDays:
			period = opts.PeriodDays
		default:
			continue
		}
		t := fixTarget{file: k.File, line: k.StartLine, endLine: k.EndLine, resources: []string{k.Resource}, keys: []int{i}, source: k.Source, enable: !remove,
			period: period, remove: remove, rotationOff: k.Rotation.Enabled == kmskey.False}
		if i < len(sites) {
			t.sites = sites[i]
		}
		// A module block instantiated twice is one block to fix.
		at := blockKey{file: k.File, line: k.StartLine}
		at.rot, at.per = siteID(t.sites.Rotation), siteID(t.sites.Period)
		if j, ok := byBlock[at]; ok {
			targets[j].resources = append(targets[j].resources, k.Resource)
			targets[j].keys = append(targets[j].keys, i)
			targets[j].period = max(targets[j].period, t.period)
			continue
		}
		byBlock[at] = len(targets)
		targets = append(targets, t)
	}
	return targets
}

// periodFor is the rotation period a fix that turns rotation on (or
// changes its period) writes, 0 to leave the period alone. With a period
// asked for, that period, unless the key states it already; the command
// rejects a period over the policy's maximum, so a fix never weakens a key
// below the policy. Otherwise the policy's maximum when the key's period
// (AWS's 365 days when unset) exceeds it.
func periodFor(opts Options, k kmskey.Key) int {
	stated := k.Rotation.PeriodDays // 0 when unset or unknown
	if opts.PeriodDays != 0 {
		if stated == opts.PeriodDays {
			return 0
		}
		return opts.PeriodDays
	}
	maxDays := opts.Policy.MaxRotationDays
	cur := cmp.Or(stated, kmskey.DefaultRotationPeriodDays)
	if maxDays > 0 && cur > maxDays {
		return maxDays
	}
	return 0
}

// fixOp is one edit of a fix: of the resource block (site nil), or of the
// place a value is set (a local, a variable, a .tfvars value, a module call).
type fixOp struct {
	file  string
	line  int
	t     fixTarget // the block's fix, with what the sites set taken out
	site  *terraform.Site
	value string
	// refusal, when set, is why the fix is not made.
	refusal string
}

// ops splits a fix into its edits. A value set outside the block is set
// where it is set; a block in a module terraform init downloaded is never
// edited (the call site is, when the value comes from it).
func ops(t fixTarget, noEdit map[string]string) []fixOp {
	if why, ok := noEdit[t.file]; ok {
		return []fixOp{{file: t.file, line: t.line, refusal: why}}
	}
	if t.source == kmskey.SourceCloudFormation && cloudformation.InCDKOut(t.file) {
		return []fixOp{{file: t.file, line: t.line, refusal: "the template is synthesized by the CDK (cdk.out) and overwritten on the next synth: " +
			cloudformation.CDKFix(t.resources[0], t.enable && t.rotationOff, t.period, t.remove)}}
	}
	if t.source != kmskey.SourceTerraform {
		return []fixOp{{file: t.file, line: t.line, t: t}}
	}
	var out []fixOp
	site := func(s *terraform.Site, value string) {
		op := fixOp{file: s.File, line: s.Line, site: s, value: value}
		if s.Refusal != "" {
			op.refusal = s.Arg + " " + s.Refusal
		} else {
			op.refusal = terraform.Shared(s)
		}
		out = append(out, op)
	}
	block := t
	s := t.sites
	switch {
	case t.remove && s.Rotation != nil:
		site(s.Rotation, "false")
		block.remove = false
	case t.enable && s.Rotation != nil:
		if t.rotationOff {
			site(s.Rotation, "true")
		}
		block.enable = false
	}
	for _, o := range out {
		if why, ok := noEdit[o.file]; ok && o.refusal == "" {
			return []fixOp{{file: o.file, line: o.line, refusal: why}}
		}
	}
	if t.period > 0 && s.Period != nil {
		site(s.Period, strconv.Itoa(t.period))
		block.period = 0
	}
	if s.Note != "" {
		// No block: the module is not on disk.
		if len(out) == 0 {
			out = append(out, fixOp{file: t.file, line: t.line, refusal: s.Note})
		}
		return out
	}
	if block.enable || block.remove || block.period > 0 {
		op := fixOp{file: t.file, line: t.line, t: block}
		if s.Downloaded {
			op.refusal = fmt.Sprintf("is in a module terraform init downloaded, which is not edited; the module sets it in its own block, so pass another value to %s if the module has a variable for it", s.CallName)
		}
		out = append(out, op)
	}
	return out
}

// planOps plans the fixes and their edits. A value set outside the block
// is edited only when every key it sets is fixed to the same value: a
// local, a variable or a module argument that also sets another key (one
// that cannot rotate, or is not being fixed) is left, and the finding names
// that key.
func planOps(opts Options, keys []kmskey.Key, findings []check.Finding, srcs sources) []fixTarget {
	targets := plan(opts, keys, findings, srcs.tfSites)
	wants := map[string]map[int]string{} // site -> key index -> value
	for i := range targets {
		targets[i].ops = ops(targets[i], srcs.noEdit)
		for _, o := range targets[i].ops {
			if o.site == nil {
				continue
			}
			id := siteID(o.site)
			if wants[id] == nil {
				wants[id] = map[int]string{}
			}
			for _, k := range targets[i].keys {
				wants[id][k] = o.value
			}
		}
	}
	if len(wants) == 0 {
		return targets
	}
	conflict := map[string]string{}
	for k, s := range srcs.tfSites {
		for _, site := range []*terraform.Site{s.Rotation, s.Period} {
			id := siteID(site)
			want, ok := wants[id]
			if !ok || conflict[id] != "" {
				continue
			}
			if _, fixed := want[k]; !fixed && k < len(keys) {
				conflict[id] = fmt.Sprintf("also sets %s (%s line %d), which this fix would change too; set the argument in each resource block instead",
					keys[k].Resource, keys[k].File, keys[k].StartLine)
			}
		}
	}
	for id, want := range wants {
		var first string
		for _, v := range want {
			if first == "" {
				first = v
			} else if v != first && conflict[id] == "" {
				conflict[id] = "sets keys that need different values; set the argument in each resource block instead"
			}
		}
	}
	for i := range targets {
		for j, o := range targets[i].ops {
			if why := conflict[siteID(o.site)]; o.site != nil && why != "" && o.refusal == "" {
				targets[i].ops[j].refusal = fmt.Sprintf("%s (set on %s line %d) %s", o.site.Arg, o.site.File, o.site.Line, why)
			}
		}
	}
	return targets
}

// opKey identifies an op's edit, so that a value shared by several keys is
// set once.
type opKey struct {
	file       string
	line       int
	start      int
	insert     bool
	arg, value string
}

func (o fixOp) key() opKey {
	if o.site == nil {
		return opKey{file: o.file, line: o.line, arg: "block"}
	}
	return opKey{o.file, o.line, o.site.Start, o.site.Insert, o.site.Arg, o.value}
}

// apply makes one op on src.
func (o fixOp) apply(src []byte) ([]byte, error) {
	if o.site != nil {
		return terraform.ApplySite(o.file, src, o.site, o.value)
	}
	return applyFix(o.file, src, o.t)
}

// fixRound plans and applies one round of fixes in memory. current holds the
// files already changed by earlier rounds (what is on disk after Fix, what
// would be without). It returns the files this round changes, adds the
// blocks it fixed to fixed, and records refused fixes.
func fixRound(opts Options, keys []kmskey.Key, findings []check.Finding, srcs sources, current map[string][]byte, fixed map[refusalKey]bool, refused map[refusalKey]string) map[string]fileChange {
	type fileOp struct {
		op fixOp
		t  fixTarget
	}
	byFile := map[string][]fileOp{}
	seen := map[opKey]bool{}
	for _, t := range planOps(opts, keys, findings, srcs) {
		if _, done := refused[refusalKey{t.file, t.resources[0]}]; done {
			continue
		}
		tops := t.ops
		if i := slices.IndexFunc(tops, func(o fixOp) bool { return o.refusal != "" }); i >= 0 {
			for _, r := range t.resources {
				refused[refusalKey{t.file, r}] = tops[i].refusal
			}
			continue
		}
		for _, o := range tops {
			if seen[o.key()] && o.site != nil {
				continue
			}
			seen[o.key()] = true
			byFile[o.file] = append(byFile[o.file], fileOp{o, t})
		}
	}
	changed := map[string]fileChange{}
	files := make([]string, 0, len(byFile))
	for f := range byFile {
		files = append(files, f)
	}
	slices.Sort(files)
	for _, file := range files {
		if why, out := opts.outside(file); out {
			for _, fo := range byFile[file] {
				for _, r := range fo.t.resources {
					refused[refusalKey{fo.t.file, r}] = why
				}
			}
			continue
		}
		before, ok := current[file]
		if !ok {
			src, err := os.ReadFile(file)
			if err != nil {
				for _, fo := range byFile[file] {
					for _, r := range fo.t.resources {
						refused[refusalKey{fo.t.file, r}] = err.Error()
					}
				}
				continue
			}
			before = src
		}
		// Bottom-up, one edit at a time: an edit never moves the lines of
		// the blocks above it, which Terraform's fixes locate by line.
		fops := byFile[file]
		slices.SortStableFunc(fops, func(a, b fileOp) int { return b.op.line - a.op.line })
		after := before
		var resources []string
		for _, fo := range fops {
			t := fo.t
			out, err := fo.op.apply(after)
			if err != nil {
				for _, r := range t.resources {
					refused[refusalKey{t.file, r}] = reason(err, file, t.resources)
				}
				continue
			}
			if !slices.Equal(out, after) {
				fixed[refusalKey{t.file, t.resources[0]}] = true
				resources = append(resources, t.resources...)
			}
			after = out
		}
		if !slices.Equal(after, before) {
			changed[file] = fileChange{before: before, after: after, resources: resources}
		}
	}
	return changed
}

func applyFix(file string, src []byte, t fixTarget) ([]byte, error) {
	switch t.source {
	case kmskey.SourceCloudFormation:
		return cloudformation.ApplyFixes(file, src, []cloudformation.Fix{{
			StartLine: t.line, Resource: t.resources[0], EnableRotation: t.enable, PeriodDays: t.period, RemoveRotation: t.remove,
		}})
	case kmskey.SourceTerraform:
		return terraform.ApplyFixes(file, src, []terraform.Fix{terraformFix(t)})
	}
	return nil, fmt.Errorf("%s keys cannot be fixed", t.source)
}

func terraformFix(t fixTarget) terraform.Fix {
	return terraform.Fix{StartLine: t.line, EndLine: t.endLine, Resource: t.resources[0], EnableRotation: t.enable, PeriodDays: t.period, RemoveRotation: t.remove}
}

// reason is the part of a refusal worth appending to a finding's message:
// without the file and resource, which the finding names already.
func reason(err error, file string, resources []string) string {
	var re *cloudformation.RefusedError
	if errors.As(err, &re) {
		return re.Property + " " + re.Reason
	}
	msg := err.Error()
	for _, prefix := range []string{"fix " + file + ": ", file + ": ", resources[0] + ": "} {
		msg = strings.TrimPrefix(msg, prefix)
	}
	if _, addr, ok := strings.Cut(resources[0], "aws_kms_"); ok {
		// Terraform names the block by its address within the module.
		msg = strings.TrimPrefix(msg, "aws_kms_"+addr+": ")
	}
	return msg
}

// writeFile writes a fixed file; tests make it fail.
var writeFile = writeAtomic

// writeAtomic replaces file with data (atomicfile: no reader sees half a
// file, and the file keeps its mode). A symbolic link is followed: its
// target is rewritten, the link kept (Run never asks for a file whose
// target is outside the paths scanned).
func writeAtomic(file string, data []byte) error {
	if target, err := filepath.EvalSymlinks(file); err == nil {
		file = target
	}
	if _, err := os.Stat(file); err != nil {
		return fmt.Errorf("write %s: %w", file, err)
	}
	return atomicfile.WriteFile(file, data, 0o644)
}
