package terraform

import (
	"math"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// maxForIterations bounds the iterations an expression with nested for
// expressions may ask for. HCL evaluates a for expression without any limit,
// and [for a in range(1024) : [for b in range(1024) : b]] takes seconds and
// a gigabyte; the flatten([for ... : [for ... ]]) idiom on real inputs asks
// for far fewer.
const maxForIterations = 100000

// forCost describes the for expressions of one native expression.
type forCost struct {
	depth, maxDepth int
	literals        int // items of tuple and object constructors
	ranges          int // calls to range()
}

func (c *forCost) Enter(n hclsyntax.Node) hcl.Diagnostics {
	switch e := n.(type) {
	case *hclsyntax.ForExpr:
		c.depth++
		c.maxDepth = max(c.maxDepth, c.depth)
	case *hclsyntax.TupleConsExpr:
		c.literals += len(e.Exprs)
	case *hclsyntax.ObjectConsExpr:
		c.literals += len(e.Items)
	case *hclsyntax.FunctionCallExpr:
		if e.Name == "range" {
			c.ranges++
		}
	}
	return nil
}

func (c *forCost) Exit(n hclsyntax.Node) hcl.Diagnostics {
	if _, ok := n.(*hclsyntax.ForExpr); ok {
		c.depth--
	}
	return nil
}

// tooCostly estimates, for an expression with nested for expressions, the
// iterations it may run: the elements it can reach (its inputs, its
// literals, 1024 per range call) to the power of the nesting depth.
func tooCostly(expr hcl.Expression, ctx *hcl.EvalContext) bool {
	node, ok := expr.(hclsyntax.Node)
	if !ok {
		return false
	}
	var c forCost
	hclsyntax.Walk(node, &c)
	if c.maxDepth < 2 {
		return false
	}
	n := c.literals + 1024*c.ranges
	for _, v := range ctx.Variables {
		n += countElems(v, maxForIterations)
	}
	return math.Pow(float64(max(n, 1)), float64(c.maxDepth)) > maxForIterations
}

// countElems counts the elements of a value, nested, stopping past limit.
func countElems(v cty.Value, limit int) int {
	v, _ = v.UnmarkDeep()
	n := 0
	var walk func(v cty.Value)
	walk = func(v cty.Value) {
		if n > limit || !v.IsKnown() || v.IsNull() || !v.CanIterateElements() {
			return
		}
		for it := v.ElementIterator(); it.Next() && n <= limit; {
			n++
			_, e := it.Element()
			walk(e)
		}
	}
	walk(v)
	return n
}
