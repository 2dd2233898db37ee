package config

import "gopkg.in/yaml.v3"

// pair is one key and value of a mapping, after merge keys are applied.
type pair struct{ key, val *yaml.Node }

// maxMergeDepth bounds nested merge keys.
const maxMergeDepth = 16

// pairs lists the entries of a mapping node. Entries written in the mapping
// win over those brought in by "<<" merge keys, as YAML specifies.
func (d *decoder) pairs(n *yaml.Node, path string) []pair {
	ks := keySet{out: make([]pair, 0, len(n.Content)/2)}
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Tag == "!!merge" {
			merges = append(merges, val)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			d.errs.add(path, k.Line, "mapping keys must be plain strings")
			continue
		}
		if !ks.add(pair{k, val}) {
			d.errs.add(joinKey(path, k.Value), k.Line, "duplicate key")
		}
	}
	for _, m := range merges {
		for _, p := range d.merged(m, path) {
			ks.add(p)
		}
	}
	return ks.out
}

// keySet collects pairs with distinct keys. A linear scan beats a map for
// the few keys a configuration mapping usually has; a map takes over for
// large mappings so that the work stays linear.
type keySet struct {
	out  []pair
	seen map[string]struct{}
}

// smallMapping is the size up to which keySet scans instead of hashing.
const smallMapping = 16

// add appends p unless its key is already there, and reports whether it did.
func (ks *keySet) add(p pair) bool {
	key := p.key.Value
	if ks.seen == nil && len(ks.out) >= smallMapping {
		ks.seen = make(map[string]struct{}, 2*len(ks.out))
		for _, q := range ks.out {
			ks.seen[q.key.Value] = struct{}{}
		}
	}
	if ks.seen != nil {
		if _, dup := ks.seen[key]; dup {
			return false
		}
		ks.seen[key] = struct{}{}
	} else {
		for _, q := range ks.out {
			if q.key.Value == key {
				return false
			}
		}
	}
	ks.out = append(ks.out, p)
	return true
}

// merged returns the entries a "<<" value brings in: one mapping or a list
// of them, earlier ones winning.
func (d *decoder) merged(m *yaml.Node, path string) []pair {
	m = resolve(m)
	if !d.spend(m, path) {
		return nil
	}
	if d.mergeDepth >= maxMergeDepth {
		d.errs.add(path, m.Line, "merge keys nested too deeply (does an anchor merge itself?)")
		return nil
	}
	d.mergeDepth++
	defer func() { d.mergeDepth-- }()
	switch m.Kind {
	case yaml.MappingNode:
		return d.pairs(m, path)
	case yaml.SequenceNode:
		var out []pair
		for _, c := range m.Content {
			if c = resolve(c); c.Kind != yaml.MappingNode {
				d.mismatch(c, path, "a mapping to merge")
				continue
			}
			out = append(out, d.pairs(c, path)...)
		}
		return out
	}
	d.mismatch(m, path, "a mapping to merge")
	return nil
}
