package cloudformation

import (
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// vkind says what resolution learned of a value.
type vkind uint8

const (
	// vAbsent: the property is not set (or set to AWS::NoValue): AWS applies its default.
	vAbsent vkind = iota
	// vLiteral: the value is known.
	vLiteral
	// vUnknown: the value depends on something only known at deploy time.
	vUnknown
)

// value is a resolved property value. A literal is a scalar (s), a list or
// a mapping (node).
type value struct {
	kind   vkind
	scalar bool
	s      string
	list   []value
	node   *yaml.Node
	// direct is true when the value is written as a plain or quoted scalar in
	// place, with no intrinsic function or alias: only such values are edited
	// by a fix.
	direct bool
}

var (
	absent  = value{kind: vAbsent}
	unknown = value{kind: vUnknown}
)

func scalarValue(s string) value { return value{kind: vLiteral, scalar: true, s: s} }

// tri is a three-valued condition.
type tri uint8

const (
	triUnknown tri = iota
	triTrue
	triFalse
)

func triOf(b bool) tri {
	if b {
		return triTrue
	}
	return triFalse
}

func (x tri) not() tri {
	switch x {
	case triTrue:
		return triFalse
	case triFalse:
		return triTrue
	}
	return triUnknown
}

// intrinsic recognises an intrinsic function, in long form ({"Fn::If": […]},
// {"Ref": "X"}) or short form (!If […], !Ref X), and returns its long name
// and argument node.
func intrinsic(n *yaml.Node) (name string, arg *yaml.Node, ok bool) {
	if n == nil {
		return "", nil, false
	}
	if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") && len(n.Tag) > 1 {
		short := n.Tag[1:]
		switch short {
		case "Ref", "Condition":
			name = short
		default:
			name = "Fn::" + short
		}
		a := *n // the argument is the node without its tag
		a.Tag = ""
		switch a.Kind {
		case yaml.ScalarNode:
			a.Tag = "!!str"
		case yaml.SequenceNode:
			a.Tag = "!!seq"
		case yaml.MappingNode:
			a.Tag = "!!map"
		}
		return name, &a, true
	}
	if n.Kind == yaml.MappingNode && len(n.Content) == 2 && n.Content[0].Kind == yaml.ScalarNode {
		k := n.Content[0].Value
		if k == "Ref" || k == "Condition" || strings.HasPrefix(k, "Fn::") {
			return k, n.Content[1], true
		}
	}
	return "", nil, false
}

// resolve evaluates the value of node n as far as the template alone decides it.
func (t *template) resolve(n *yaml.Node, depth int) value {
	if n == nil {
		return absent
	}
	if depth > maxDepth {
		return unknown
	}
	direct := n.Kind == yaml.ScalarNode
	n = deref(n)
	if n == nil {
		return unknown
	}
	if name, arg, ok := intrinsic(n); ok {
		return undirect(t.call(name, arg, depth+1))
	}
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return absent
		}
		v := scalarValue(n.Value)
		v.node, v.direct = n, direct
		return v
	case yaml.SequenceNode:
		v := value{kind: vLiteral, node: n, list: make([]value, 0, len(n.Content))}
		for _, c := range n.Content {
			v.list = append(v.list, t.resolve(c, depth+1))
		}
		return v
	case yaml.MappingNode:
		return value{kind: vLiteral, node: n}
	}
	return unknown
}

// call evaluates one intrinsic function. Functions whose result only AWS
// knows (GetAtt, ImportValue, GetAZs, Cidr, Base64, Transform, …) are unknown.
func (t *template) call(name string, arg *yaml.Node, depth int) value {
	arg = deref(arg)
	if arg == nil || depth > maxDepth {
		return unknown
	}
	switch name {
	case "Ref":
		if arg.Kind != yaml.ScalarNode {
			return unknown
		}
		return t.ref(arg.Value)
	case "Fn::If":
		if arg.Kind != yaml.SequenceNode || len(arg.Content) != 3 {
			return unknown
		}
		c := deref(arg.Content[0])
		if c == nil || c.Kind != yaml.ScalarNode {
			return unknown
		}
		switch t.condition(c.Value, depth+1) {
		case triTrue:
			return t.resolve(arg.Content[1], depth+1)
		case triFalse:
			return t.resolve(arg.Content[2], depth+1)
		}
		return unknown
	case "Fn::Sub":
		return t.sub(arg, depth+1)
	case "Fn::Join":
		if arg.Kind != yaml.SequenceNode || len(arg.Content) != 2 {
			return unknown
		}
		delim, parts := t.resolve(arg.Content[0], depth+1), t.resolve(arg.Content[1], depth+1)
		if delim.kind != vLiteral || !delim.scalar || parts.kind != vLiteral || parts.scalar {
			return unknown
		}
		ss := make([]string, 0, len(parts.list))
		for _, p := range parts.list {
			if p.kind != vLiteral || !p.scalar {
				return unknown
			}
			ss = append(ss, p.s)
		}
		return scalarValue(strings.Join(ss, delim.s))
	case "Fn::Select":
		if arg.Kind != yaml.SequenceNode || len(arg.Content) != 2 {
			return unknown
		}
		idx, list := t.resolve(arg.Content[0], depth+1), t.resolve(arg.Content[1], depth+1)
		if idx.kind != vLiteral || !idx.scalar || list.kind != vLiteral || list.scalar {
			return unknown
		}
		i, err := strconv.Atoi(idx.s)
		if err != nil || i < 0 || i >= len(list.list) {
			return unknown
		}
		return list.list[i]
	case "Fn::Split":
		if arg.Kind != yaml.SequenceNode || len(arg.Content) != 2 {
			return unknown
		}
		delim, s := t.resolve(arg.Content[0], depth+1), t.resolve(arg.Content[1], depth+1)
		if delim.kind != vLiteral || !delim.scalar || delim.s == "" || s.kind != vLiteral || !s.scalar {
			return unknown
		}
		return listValue(strings.Split(s.s, delim.s))
	case "Fn::FindInMap":
		if arg.Kind != yaml.SequenceNode || len(arg.Content) != 3 {
			return unknown
		}
		var path [3]string
		for i, c := range arg.Content {
			v := t.resolve(c, depth+1)
			if v.kind != vLiteral || !v.scalar {
				return unknown
			}
			path[i] = v.s
		}
		// A missing entry fails the deployment; say unknown rather than guess.
		n := lookup(mappingOrNil(lookup(mappingOrNil(lookup(t.mappings, path[0])), path[1])), path[2])
		if n == nil {
			return unknown
		}
		return t.resolve(n, depth+1)
	}
	return unknown
}

// undirect marks a value computed by a function: a fix must not edit the
// literal it came from, which other branches or keys may share.
func undirect(v value) value {
	v.direct = false
	return v
}

func listValue(ss []string) value {
	v := value{kind: vLiteral, list: make([]value, len(ss))}
	for i, s := range ss {
		v.list[i] = scalarValue(s)
	}
	return v
}

// ref resolves !Ref: a parameter's Default, AWS::NoValue. Pseudo parameters
// (AWS::Region, …), resources and parameters without a Default are unknown.
func (t *template) ref(name string) value {
	if name == "AWS::NoValue" {
		return absent
	}
	p := mappingOrNil(lookup(t.params, name))
	if p == nil {
		return unknown
	}
	typ := ""
	if n := deref(lookup(p, "Type")); n != nil && n.Kind == yaml.ScalarNode {
		typ = n.Value
	}
	// The Default of an SSM parameter type is the name of the SSM parameter,
	// not its value (CDK's BootstrapVersion).
	if strings.HasPrefix(typ, "AWS::SSM::Parameter::Value") {
		return unknown
	}
	def := deref(lookup(p, "Default"))
	if def == nil || def.Kind != yaml.ScalarNode || def.Tag == "!!null" {
		return unknown
	}
	if typ == "CommaDelimitedList" || strings.HasPrefix(typ, "List<") {
		return listValue(strings.Split(def.Value, ","))
	}
	return scalarValue(def.Value)
}

// sub resolves Fn::Sub over parameters with defaults; any other variable
// makes it unknown.
func (t *template) sub(arg *yaml.Node, depth int) value {
	var tmpl *yaml.Node
	vars := map[string]value{}
	switch arg.Kind {
	case yaml.ScalarNode:
		tmpl = arg
	case yaml.SequenceNode:
		if len(arg.Content) != 2 {
			return unknown
		}
		tmpl = deref(arg.Content[0])
		m := mappingOrNil(arg.Content[1])
		if m == nil {
			return unknown
		}
		for i := 0; i+1 < len(m.Content); i += 2 {
			vars[m.Content[i].Value] = t.resolve(m.Content[i+1], depth+1)
		}
	default:
		return unknown
	}
	if tmpl == nil || tmpl.Kind != yaml.ScalarNode {
		return unknown
	}
	s := tmpl.Value
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		s = s[i+2:]
		if strings.HasPrefix(s, "!") { // ${!Literal} is the text ${Literal}
			b.WriteString("${")
			s = s[1:]
			continue
		}
		j := strings.IndexByte(s, '}')
		if j < 0 {
			return unknown
		}
		name := s[:j]
		s = s[j+1:]
		v, ok := vars[name]
		if !ok {
			v = t.ref(name)
		}
		if v.kind != vLiteral || !v.scalar {
			return unknown
		}
		b.WriteString(v.s)
	}
	return scalarValue(b.String())
}

// condition evaluates the named entry of Conditions.
func (t *template) condition(name string, depth int) tri {
	if v, ok := t.condMemo[name]; ok {
		return v
	}
	n := lookup(t.conditions, name)
	if n == nil || t.condBusy[name] || depth > maxDepth {
		return triUnknown
	}
	t.condBusy[name] = true
	v := t.evalCond(n, depth+1)
	delete(t.condBusy, name)
	t.condMemo[name] = v
	return v
}

// evalCond evaluates a condition expression: Fn::Equals over resolvable
// values, Fn::Not, Fn::And and Fn::Or (three-valued: false And unknown is
// false), and Condition references.
func (t *template) evalCond(n *yaml.Node, depth int) tri {
	n = deref(n)
	if n == nil || depth > maxDepth {
		return triUnknown
	}
	name, arg, ok := intrinsic(n)
	if !ok {
		return triUnknown
	}
	arg = deref(arg)
	if arg == nil {
		return triUnknown
	}
	switch name {
	case "Condition":
		if arg.Kind != yaml.ScalarNode {
			return triUnknown
		}
		return t.condition(arg.Value, depth+1)
	case "Fn::Equals":
		if arg.Kind != yaml.SequenceNode || len(arg.Content) != 2 {
			return triUnknown
		}
		a, b := t.resolve(arg.Content[0], depth+1), t.resolve(arg.Content[1], depth+1)
		if a.kind != vLiteral || b.kind != vLiteral || !a.scalar || !b.scalar {
			return triUnknown
		}
		return triOf(a.s == b.s)
	case "Fn::Not":
		if arg.Kind != yaml.SequenceNode || len(arg.Content) != 1 {
			return triUnknown
		}
		return t.evalCond(arg.Content[0], depth+1).not()
	case "Fn::And", "Fn::Or":
		if arg.Kind != yaml.SequenceNode || len(arg.Content) == 0 {
			return triUnknown
		}
		// And: any false decides; Or: any true decides.
		decisive := triFalse
		if name == "Fn::Or" {
			decisive = triTrue
		}
		res := decisive.not()
		for _, c := range arg.Content {
			switch v := t.evalCond(c, depth+1); v {
			case decisive:
				return decisive
			case triUnknown:
				res = triUnknown
			}
		}
		return res
	}
	return triUnknown
}

// boolOf reads a literal boolean; CloudFormation accepts the strings "true"
// and "false" for boolean properties.
func boolOf(v value) (b, ok bool) {
	if v.kind != vLiteral || !v.scalar {
		return false, false
	}
	switch strings.ToLower(v.s) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// intOf reads a literal integer (a number or a numeric string).
func intOf(v value) (int, bool) {
	if v.kind != vLiteral || !v.scalar {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimSpace(v.s))
	if err != nil {
		// 365.0 is a number too.
		f, ferr := strconv.ParseFloat(strings.TrimSpace(v.s), 64)
		if ferr != nil || f != float64(int(f)) {
			return 0, false
		}
		return int(f), true
	}
	return n, true
}
