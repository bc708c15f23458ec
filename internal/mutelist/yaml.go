package mutelist

// yaml is the one import of the YAML library, so that switching library is
// one line.
import yaml "go.yaml.in/yaml/v3"

type node = yaml.Node

type yamlKind = yaml.Kind

const (
	mappingNode  = yaml.MappingNode
	sequenceNode = yaml.SequenceNode
	scalarNode   = yaml.ScalarNode
	documentNode = yaml.DocumentNode
	aliasNode    = yaml.AliasNode
)

func unmarshal(data []byte, n *node) error { return yaml.Unmarshal(data, n) }
