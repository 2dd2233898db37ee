package config

// MarshalYAML writes a target as the upstream name alone when it has no
// model override, the short form people write by hand.
func (t Target) MarshalYAML() (any, error) {
	if t.Model == "" && t.Priority == 0 && t.Weight == 0 {
		return t.Upstream, nil
	}
	type plain Target // drops this method, so the mapping is written
	return plain(t), nil
}
