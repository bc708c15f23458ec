package terraform

import (
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Source is a .tf file as LoadDirs read it, kept for the files that declare
// KMS resources: its content and their blocks as parsed, so that a fix of
// one of them (Apply) needs neither to read nor to parse the file again.
// It is read-only and safe for concurrent use.
type Source struct {
	path   string
	src    []byte
	blocks map[int]*hclsyntax.Block // KMS resource blocks, by first line
}

// Bytes returns the file's content as read. The caller must not change it.
func (s *Source) Bytes() []byte { return s.src }

// Apply is ApplyFixes(path, Bytes(), []Fix{f}) on the block as it was
// parsed: the same result, errors and refusals included.
func (s *Source) Apply(f Fix) ([]byte, error) {
	b := s.blocks[f.StartLine]
	if b == nil {
		return ApplyFixes(s.path, s.src, []Fix{f})
	}
	r := span{start: b.TypeRange.Start.Byte, end: b.CloseBraceRange.End.Byte, pos: b.TypeRange.Start}
	return applyFixes(s.path, s.src, &hclsyntax.Body{Blocks: []*hclsyntax.Block{b}}, r, []Fix{f})
}

// newSource keeps src and the KMS resource blocks of body, or returns nil
// when the file declares none.
func newSource(path string, src []byte, body *hclsyntax.Body) *Source {
	var s *Source
	for _, b := range body.Blocks {
		if b.Type != "resource" || len(b.Labels) != 2 || !keyTypes[b.Labels[0]] {
			continue
		}
		if s == nil {
			s = &Source{path: path, src: src, blocks: make(map[int]*hclsyntax.Block)}
		}
		s.blocks[b.TypeRange.Start.Line] = b
	}
	return s
}
