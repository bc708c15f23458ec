package iac

import (
	"fmt"
	"strings"

	"github.com/kmsrotor/kmsrotor/internal/term"
)

// diffContext is the number of unchanged lines around each change.
const diffContext = 3

// maxEditDistance bounds the Myers search; files that differ more than this
// (never the case for a fix, which adds a few lines) are shown as a whole
// removal and addition, which is still a correct diff.
const maxEditDistance = 4000

// opKind is one step of an edit script.
type opKind byte

const (
	opEqual  opKind = ' '
	opDelete opKind = '-'
	opInsert opKind = '+'
)

type diffOp struct {
	kind opKind
	a, b int // line indexes in a and b (the one that applies)
}

// Diff returns the unified diff that turns a into b, with headers
// "--- a/name" and "+++ b/name" and 3 lines of context, or "" when they are
// equal. A last line without a newline is marked as diff(1) does. The diff
// is for a terminal: the name and the lines pass through term (tabs and line
// ends kept), so that a file's control bytes are shown, not obeyed.
func Diff(name string, a, b []byte) string {
	if string(a) == string(b) {
		return ""
	}
	al, bl := splitLines(string(a)), splitLines(string(b))
	ops := lineDiff(al, bl)
	var sb strings.Builder
	name = term.Inert(name)
	fmt.Fprintf(&sb, "--- a/%s\n+++ b/%s\n", name, name)
	for _, h := range hunks(ops) {
		writeHunk(&sb, h, al, bl)
	}
	return sb.String()
}

// splitLines splits s after each "\n"; the last line may lack one.
func splitLines(s string) []string {
	var lines []string
	for s != "" {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			lines = append(lines, s)
			break
		}
		lines = append(lines, s[:i+1])
		s = s[i+1:]
	}
	return lines
}

// lineDiff returns a shortest edit script from a to b (Myers, "An O(ND)
// difference algorithm and its variations", 1986), after trimming the
// common prefix and suffix.
func lineDiff(a, b []string) []diffOp {
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	var ops []diffOp
	for i := range pre {
		ops = append(ops, diffOp{opEqual, i, i})
	}
	for _, op := range myers(a[pre:len(a)-suf], b[pre:len(b)-suf]) {
		op.a += pre
		op.b += pre
		ops = append(ops, op)
	}
	for i := range suf {
		ops = append(ops, diffOp{opEqual, len(a) - suf + i, len(b) - suf + i})
	}
	return ops
}

func myers(a, b []string) []diffOp {
	n, m := len(a), len(b)
	limit := min(n+m, maxEditDistance)
	off := limit + 1
	v := make([]int, 2*limit+3)
	// trace[d] is v as round d found it, restricted to diagonals -d..d.
	var trace [][]int
	for d := 0; d <= limit; d++ {
		trace = append(trace, append([]int(nil), v[off-d:off+d+1]...))
		for k := -d; k <= d; k += 2 {
			var x int
			if k == -d || (k != d && v[off+k-1] < v[off+k+1]) {
				x = v[off+k+1]
			} else {
				x = v[off+k-1] + 1
			}
			y := x - k
			for x < n && y < m && a[x] == b[y] {
				x, y = x+1, y+1
			}
			v[off+k] = x
			if x >= n && y >= m {
				return backtrack(trace, n, m, d)
			}
		}
	}
	// Too far apart: remove everything, add everything.
	ops := make([]diffOp, 0, n+m)
	for i := range n {
		ops = append(ops, diffOp{opDelete, i, 0})
	}
	for j := range m {
		ops = append(ops, diffOp{opInsert, n, j})
	}
	return ops
}

func backtrack(trace [][]int, n, m, dEnd int) []diffOp {
	at := func(d, k int) int { return trace[d][k+d] }
	var rev []diffOp
	x, y := n, m
	for d := dEnd; d > 0; d-- {
		k := x - y
		prevK := k - 1
		if k == -d || (k != d && at(d, k-1) < at(d, k+1)) {
			prevK = k + 1
		}
		prevX := at(d, prevK)
		prevY := prevX - prevK
		for x > prevX && y > prevY {
			x, y = x-1, y-1
			rev = append(rev, diffOp{opEqual, x, y})
		}
		if x == prevX {
			y--
			rev = append(rev, diffOp{opInsert, x, y})
		} else {
			x--
			rev = append(rev, diffOp{opDelete, x, y})
		}
	}
	for x > 0 && y > 0 {
		x, y = x-1, y-1
		rev = append(rev, diffOp{opEqual, x, y})
	}
	ops := make([]diffOp, len(rev))
	for i, op := range rev {
		ops[len(rev)-1-i] = op
	}
	return ops
}

// hunks groups the ops into hunks: each change with its context, merged
// when their contexts touch.
func hunks(ops []diffOp) [][]diffOp {
	var out [][]diffOp
	start, end := -1, -1 // the current hunk is ops[start:end]
	for i, op := range ops {
		if op.kind == opEqual {
			continue
		}
		lo, hi := max(0, i-diffContext), min(len(ops), i+diffContext+1)
		if start >= 0 && lo <= end {
			end = max(end, hi)
			continue
		}
		if start >= 0 {
			out = append(out, ops[start:end])
		}
		start, end = lo, hi
	}
	if start >= 0 {
		out = append(out, ops[start:end])
	}
	return out
}

func writeHunk(sb *strings.Builder, h []diffOp, a, b []string) {
	aStart, bStart := h[0].a, h[0].b
	aLen, bLen := 0, 0
	for _, op := range h {
		if op.kind != opInsert {
			aLen++
		}
		if op.kind != opDelete {
			bLen++
		}
	}
	fmt.Fprintf(sb, "@@ -%s +%s @@\n", hunkRange(aStart, aLen), hunkRange(bStart, bLen))
	for _, op := range h {
		var line string
		if op.kind == opInsert {
			line = b[op.b]
		} else {
			line = a[op.a]
		}
		sb.WriteByte(byte(op.kind))
		sb.WriteString(term.Lines(line))
		if !strings.HasSuffix(line, "\n") {
			sb.WriteString("\n\\ No newline at end of file\n")
		}
	}
}

// hunkRange formats a hunk's start and length as diff(1) does: 1-based, the
// length left out when 1, and the line before when the range is empty.
func hunkRange(start, n int) string {
	switch n {
	case 0:
		return fmt.Sprintf("%d,0", start)
	case 1:
		return fmt.Sprintf("%d", start+1)
	}
	return fmt.Sprintf("%d,%d", start+1, n)
}
