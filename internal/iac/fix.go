package iac

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
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
}

// refusalKey names a key whose fix was refused: its file and address.
type refusalKey struct{ file, resource string }

// blockKey names a resource block: its file and first line.
type blockKey struct {
	file string
	line int
}

// fileChange is one file's content before and after a round of fixes, and
// the addresses of the keys the change fixes.
type fileChange struct {
	before, after []byte
	resources     []string
}

// plan decides which keys to fix and how. Fixed are FAILs for rotation off
// or a period over the policy and, when a period is asked for
// (--rotation-period-days N), every key that rotates with a longer period
// than N; a key whose period is N or less is never touched. Never fixed:
// replicas (their rotation is their primary's, which is fixed instead),
// plan files (fix the configuration), and every class that cannot rotate
// (they are not FAIL).
func plan(opts Options, keys []kmskey.Key, findings []check.Finding) []fixTarget {
	byBlock := map[blockKey]int{} // index in targets
	var targets []fixTarget
	for i, k := range keys {
		f := findings[i]
		if k.IsReplica() || (k.Source != kmskey.SourceTerraform && k.Source != kmskey.SourceCloudFormation) {
			continue
		}
		var period int
		switch {
		case f.Status == check.StatusFail && (f.Reason == check.ReasonRotationDisabled || f.Reason == check.ReasonPeriodExceedsPolicy):
			period = periodFor(opts, k)
		case opts.PeriodDays != 0 && f.Status == check.StatusPass && f.Reason == check.ReasonRotationEnabled &&
			k.Rotation.PeriodDays > opts.PeriodDays:
			period = opts.PeriodDays
		default:
			continue
		}
		t := fixTarget{file: k.File, line: k.StartLine, endLine: k.EndLine, resources: []string{k.Resource}, keys: []int{i}, source: k.Source, enable: true,
			period: period}
		// A module block instantiated twice is one block to fix.
		at := blockKey{k.File, k.StartLine}
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
// shortens its period) writes, 0 to leave the period alone. With a period
// asked for, that period, unless the key already states a shorter one,
// which is kept: a fix never weakens a period. Otherwise the policy's
// maximum when the key's period (AWS's 365 days when unset) exceeds it.
func periodFor(opts Options, k kmskey.Key) int {
	stated := k.Rotation.PeriodDays // 0 when unset or unknown
	if opts.PeriodDays != 0 {
		if stated > 0 && stated <= opts.PeriodDays {
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

// fixRound plans and applies one round of fixes in memory. current holds the
// files already changed by earlier rounds (what is on disk after Fix, what
// would be without). It returns the files this round changes, adds the
// blocks it fixed to fixed, and records refused fixes.
func fixRound(opts Options, keys []kmskey.Key, findings []check.Finding, current map[string][]byte, fixed map[refusalKey]bool, refused map[refusalKey]string) map[string]fileChange {
	byFile := map[string][]fixTarget{}
	for _, t := range plan(opts, keys, findings) {
		if _, done := refused[refusalKey{t.file, t.resources[0]}]; done {
			continue
		}
		byFile[t.file] = append(byFile[t.file], t)
	}
	changed := map[string]fileChange{}
	files := make([]string, 0, len(byFile))
	for f := range byFile {
		files = append(files, f)
	}
	slices.Sort(files)
	for _, file := range files {
		before, ok := current[file]
		if !ok {
			src, err := os.ReadFile(file)
			if err != nil {
				for _, r := range byFile[file][0].resources {
					refused[refusalKey{file, r}] = err.Error()
				}
				continue
			}
			before = src
		}
		// Bottom-up, one block at a time: an edit never moves the lines of
		// the blocks above it, which Terraform's fixes locate by line.
		targets := byFile[file]
		slices.SortFunc(targets, func(a, b fixTarget) int { return b.line - a.line })
		after := before
		var resources []string
		for _, t := range targets {
			out, err := applyFix(file, after, t)
			if err != nil {
				for _, r := range t.resources {
					refused[refusalKey{file, r}] = reason(err, file, t.resources)
				}
				continue
			}
			if !slices.Equal(out, after) {
				fixed[refusalKey{file, t.resources[0]}] = true
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
			StartLine: t.line, Resource: t.resources[0], EnableRotation: t.enable, PeriodDays: t.period,
		}})
	case kmskey.SourceTerraform:
		return terraform.ApplyFixes(file, src, []terraform.Fix{terraformFix(t)})
	}
	return nil, fmt.Errorf("%s keys cannot be fixed", t.source)
}

func terraformFix(t fixTarget) terraform.Fix {
	return terraform.Fix{StartLine: t.line, EndLine: t.endLine, Resource: t.resources[0], EnableRotation: t.enable, PeriodDays: t.period}
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
// target is rewritten, the link kept.
func writeAtomic(file string, data []byte) error {
	if target, err := filepath.EvalSymlinks(file); err == nil {
		file = target
	}
	if _, err := os.Stat(file); err != nil {
		return fmt.Errorf("write %s: %w", file, err)
	}
	return atomicfile.WriteFile(file, data, 0o644)
}
