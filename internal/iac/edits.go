package iac

import (
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/kmsrotor/kmsrotor/internal/check"
	"github.com/kmsrotor/kmsrotor/internal/kmskey"
)

// fixEdits computes, for every FAIL finding that --fix would change, the
// exact edit it would make, as line replacements of the file as it is on
// disk (the file the finding's lines refer to): the fix is planned as --fix
// plans it, applied alone to the file by the source's ApplyFixes, and the
// changed lines are read off the line diff. A fix that is refused (an
// expression, a layout a minimal edit cannot change, a file that could not
// be written) or not planned (a replica, a plan file, a key that cannot
// rotate) gives no edit. Every key of a block (count, for_each, a module
// called twice) gets the block's edit. It returns the edits by key index;
// file names are as display names them.
//
// Fixes of different blocks of a file never overlap, and each is computed
// on the unchanged file, so every edit's lines are those of the file as
// read, as a SARIF fix's must be.
func fixEdits(opts Options, keys []kmskey.Key, findings []check.Finding, srcs sources, refused map[refusalKey]string) map[int][]check.Edit {
	var targets []fixTarget
	for _, t := range planOps(opts, keys, findings, srcs) {
		if _, ok := refused[refusalKey{t.file, t.resources[0]}]; ok {
			continue
		}
		// Only FAIL findings carry edits: --rotation-period-days also plans
		// keys that pass.
		if !slices.ContainsFunc(t.keys, func(i int) bool { return findings[i].Status == check.StatusFail }) {
			continue
		}
		targets = append(targets, t)
	}
	if len(targets) == 0 {
		return nil
	}

	out := map[int][]check.Edit{}
	var mu sync.Mutex
	var read sync.Map // file -> []byte, for files that define no key
	var wg sync.WaitGroup
	next := make(chan fixTarget)
	for range max(1, min(runtime.GOMAXPROCS(0), len(targets))) {
		wg.Go(func() {
			for t := range next {
				got := targetEdits(opts, t, srcs, &read)
				if got == nil {
					continue
				}
				mu.Lock()
				for _, k := range t.keys {
					if findings[k].Status == check.StatusFail {
						out[k] = got
					}
				}
				mu.Unlock()
			}
		})
	}
	for _, t := range targets {
		next <- t
	}
	close(next)
	wg.Wait()
	return out
}

// targetEdits applies each op of a fix alone to its file, as load read it,
// and returns their edits; nil when one is refused or none changes
// anything.
func targetEdits(opts Options, t fixTarget, srcs sources, read *sync.Map) []check.Edit {
	var edits []check.Edit
	for _, o := range t.ops {
		if o.refusal != "" {
			return nil
		}
		tf := srcs.tf[o.file]
		var src []byte
		switch {
		case tf != nil:
			src = tf.Bytes()
		case srcs.cfn[o.file] != nil:
			src = srcs.cfn[o.file]
		case o.site != nil:
			if b, ok := read.Load(o.file); ok {
				src = b.([]byte)
			} else if b, err := os.ReadFile(o.file); err == nil {
				read.Store(o.file, b)
				src = b
			}
		}
		if src == nil {
			return nil // not read as a file that defines keys: no fix
		}
		var after []byte
		var err error
		if tf != nil && o.site == nil && t.source == kmskey.SourceTerraform {
			after, err = tf.Apply(terraformFix(o.t))
		} else {
			after, err = o.apply(src)
		}
		if err != nil {
			return nil
		}
		if string(after) == string(src) {
			continue
		}
		edits = append(edits, lineEdits(opts.display(o.file), splitLines(string(src)), splitLines(string(after)))...)
	}
	return edits
}

// lineEdits turns the line diff of a and b into edits of a: each run of
// changed lines replaces lines StartLine..EndLine of a (EndLine =
// StartLine-1 for a pure insertion before StartLine) with the lines of b
// that replace them. Text holds whole lines; only when the change reaches
// a last line without a newline does its text end without one too.
func lineEdits(name string, a, b []string) []check.Edit {
	var edits []check.Edit
	ops := lineDiff(a, b)
	for i := 0; i < len(ops); {
		if ops[i].kind == opEqual {
			i++
			continue
		}
		e := check.Edit{File: name, StartLine: ops[i].a + 1}
		deleted := 0
		var text strings.Builder
		for ; i < len(ops) && ops[i].kind != opEqual; i++ {
			switch ops[i].kind {
			case opDelete:
				deleted++
			case opInsert:
				text.WriteString(b[ops[i].b])
			}
		}
		e.EndLine = e.StartLine + deleted - 1
		e.Text = text.String()
		edits = append(edits, e)
	}
	return edits
}
