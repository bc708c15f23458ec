// Package limit holds the bounds kmsrotor puts on the files it reads, so
// that no file can exhaust memory, the stack or the time of a scan: their
// size, their nesting, and how far YAML aliases may expand them. Each error
// says what was exceeded and what to do; the caller names the file.
package limit

import (
	"errors"
	"fmt"
	"io"
	"os"

	"go.yaml.in/yaml/v3"
)

const (
	// FileBytes is the largest file read: ten times CloudFormation's own
	// limit for a template in S3 (1 MB), far above any Terraform file.
	FileBytes = 10 << 20
	// Depth is the deepest nesting of brackets (JSON, HCL) or collections
	// (YAML) read. Parsers recurse once per level: HCL's has no bound of
	// its own and overflows the stack on some 100,000 levels.
	Depth = 256
	// YAMLNodes is how many nodes the aliases of a YAML document may add
	// to it once expanded, which is how a reader walking it sees it: a few
	// lines of anchors and aliases can stand for 10^9 nodes.
	YAMLNodes = 1_000_000
)

// ErrTooLarge is the error of a file over FileBytes.
var ErrTooLarge = fmt.Errorf("the file is larger than %d MiB, the most kmsrotor reads: split it, or leave it out of the paths scanned", FileBytes>>20)

// ReadFile reads a file of at most FileBytes, never more than that into
// memory whatever the file (a named pipe, /dev/zero). A larger file is
// ErrTooLarge itself, which the caller's diagnostic names the file for.
func ReadFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() && st.Size() > FileBytes {
		return nil, ErrTooLarge
	}
	b, err := io.ReadAll(io.LimitReader(f, FileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(b) > FileBytes {
		return nil, ErrTooLarge
	}
	return b, nil
}

// errTooDeep is the error of nesting over Depth.
var errTooDeep = fmt.Errorf("nesting is deeper than %d levels, the most kmsrotor reads: flatten the file", Depth)

// Brackets checks that src nests (, [ and { no deeper than Depth, with
// every bracket counted, quoted or not: HCL parses the expressions inside
// its strings too, and HCL-JSON those of its strings once decoded, so a
// JSON escape of a bracket (\u005b) counts as one. It is a bound, not a
// syntax check.
func Brackets(src []byte) error {
	depth := 0
	for i := 0; i < len(src); i++ {
		c := src[i]
		if c == '\\' && i+5 < len(src) && src[i+1] == 'u' && src[i+2] == '0' && src[i+3] == '0' {
			switch string(src[i+4 : i+6]) {
			case "28", "5b", "5B", "7b", "7B":
				c = '('
			case "29", "5d", "5D", "7d", "7D":
				c = ')'
			}
		}
		switch c {
		case '(', '[', '{':
			if depth++; depth > Depth {
				return errTooDeep
			}
		case ')', ']', '}':
			depth = max(0, depth-1)
		}
	}
	return nil
}

// JSON checks that a JSON document nests no deeper than Depth; brackets
// in strings are not counted.
func JSON(src []byte) error {
	depth := 0
	for i := 0; i < len(src); i++ {
		switch src[i] {
		case '"':
			for i++; i < len(src) && src[i] != '"'; i++ {
				if src[i] == '\\' {
					i++
				}
			}
		case '[', '{':
			if depth++; depth > Depth {
				return errTooDeep
			}
		case ']', '}':
			depth = max(0, depth-1)
		}
	}
	return nil
}

// errAliases is the error of a YAML document whose aliases expand it past
// YAMLNodes.
var errAliases = fmt.Errorf("YAML aliases expand the document by more than %d nodes (a \"billion laughs\" document): write the repeated parts out, or use fewer aliases", YAMLNodes)

// YAML checks a parsed YAML document: nesting no deeper than Depth, and
// more than YAMLNodes nodes added by expanding its aliases.
func YAML(doc *yaml.Node) error {
	w := yamlWalk{sizes: map[*yaml.Node]int{}, open: map[*yaml.Node]bool{}}
	if _, err := w.size(doc, 0); err != nil {
		return err
	}
	return nil
}

type yamlWalk struct {
	// sizes memoizes the expanded size of each anchored node, so that the
	// walk is linear in the document, not in its expansion.
	sizes map[*yaml.Node]int
	// open marks the nodes being walked: an alias to one of them is a
	// cycle, which yaml.v3 builds for an anchor used inside itself.
	open map[*yaml.Node]bool
	// expanded counts the nodes the aliases met so far stand for.
	expanded int
}

var errCycle = errors.New("a YAML alias refers to a node that contains it: remove the alias")

func (w *yamlWalk) size(n *yaml.Node, depth int) (int, error) {
	if n == nil {
		return 0, nil
	}
	if depth > Depth {
		return 0, errTooDeep
	}
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			return 1, nil
		}
		s, err := w.size(n.Alias, depth)
		if err != nil {
			return 0, err
		}
		if w.expanded += s; w.expanded > YAMLNodes {
			return 0, errAliases
		}
		return s, nil
	}
	if n.Anchor != "" {
		// Only anchored nodes are aliased: only they are memoized.
		if s, ok := w.sizes[n]; ok {
			return s, nil
		}
		if w.open[n] {
			return 0, errCycle
		}
		w.open[n] = true
		defer delete(w.open, n)
	}
	total := 1
	for _, c := range n.Content {
		s, err := w.size(c, depth+1)
		if err != nil {
			return 0, err
		}
		total += s
	}
	if n.Anchor != "" {
		w.sizes[n] = total
	}
	return total, nil
}
