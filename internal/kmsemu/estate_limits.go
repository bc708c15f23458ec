package kmsemu

import (
	"errors"
	"fmt"
	"io"
	"os"

	"go.yaml.in/yaml/v3"
)

// The bounds of an estate file, so that no file can exhaust the emulator's
// memory or stack. The emulator imports no other package of kmsrotor, so
// these are its own (kmsrotor's file limits are in internal/iac/limit).
const (
	// maxEstateBytes is the largest estate file loaded: some 150,000 keys
	// written out; larger estates are generated (Generate, --generate).
	maxEstateBytes = 32 << 20
	// maxEstateDepth is the deepest nesting of collections read.
	maxEstateDepth = 256
	// maxEstateAliasNodes is how many nodes the YAML aliases of an estate
	// may add to it once expanded, which decoding does: a few lines of
	// anchors and aliases can stand for 10^9 nodes ("billion laughs").
	maxEstateAliasNodes = 1_000_000
)

var (
	errEstateTooLarge = fmt.Errorf("the file is larger than %d MiB, the most the emulator loads: split the estate, or generate a large one with --generate", maxEstateBytes>>20)
	errEstateTooDeep  = fmt.Errorf("nesting is deeper than %d levels, the most the emulator reads: flatten the file", maxEstateDepth)
	errEstateAliases  = fmt.Errorf("YAML aliases expand the estate by more than %d nodes (a \"billion laughs\" document): write the repeated parts out, or use fewer aliases", maxEstateAliasNodes)
	errEstateCycle    = errors.New("a YAML alias refers to a node that contains it: remove the alias")
)

// readEstateFile reads at most maxEstateBytes, whatever the file.
func readEstateFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() && st.Size() > maxEstateBytes {
		return nil, errEstateTooLarge
	}
	data, err := io.ReadAll(io.LimitReader(f, maxEstateBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxEstateBytes {
		return nil, errEstateTooLarge
	}
	return data, nil
}

// checkEstateYAML bounds a parsed estate's nesting and alias expansion
// before it is decoded.
func checkEstateYAML(doc *yaml.Node) error {
	w := estateWalk{sizes: map[*yaml.Node]int{}, open: map[*yaml.Node]bool{}}
	_, err := w.size(doc, 0)
	return err
}

type estateWalk struct {
	sizes    map[*yaml.Node]int  // expanded size of anchored nodes
	open     map[*yaml.Node]bool // anchored nodes being walked
	expanded int                 // nodes the aliases met so far stand for
}

func (w *estateWalk) size(n *yaml.Node, depth int) (int, error) {
	if n == nil {
		return 0, nil
	}
	if depth > maxEstateDepth {
		return 0, errEstateTooDeep
	}
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			return 1, nil
		}
		s, err := w.size(n.Alias, depth)
		if err != nil {
			return 0, err
		}
		if w.expanded += s; w.expanded > maxEstateAliasNodes {
			return 0, errEstateAliases
		}
		return s, nil
	}
	if n.Anchor != "" {
		if s, ok := w.sizes[n]; ok {
			return s, nil
		}
		if w.open[n] {
			return 0, errEstateCycle
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
