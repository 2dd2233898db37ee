// Package family names the rule family of a WAF rule ID: the Core Rule Set
// file it comes from (913 scanner, 942 SQL injection, ...), the engine's
// body-processor rules, or a custom rule. The names form a small fixed set,
// so they can label metrics.
package family

import "strconv"

// Families of the Core Rule Set, by the first three digits of the rule ID.
var crs = map[int]string{
	901: "901-initialization",
	905: "905-exceptions",
	911: "911-method",
	913: "913-scanner",
	920: "920-protocol",
	921: "921-protocol-attack",
	922: "922-multipart",
	930: "930-lfi",
	931: "931-rfi",
	932: "932-rce",
	933: "933-php",
	934: "934-generic",
	941: "941-xss",
	942: "942-sqli",
	943: "943-session-fixation",
	944: "944-java",
	949: "949-blocking",
	980: "980-correlation",
}

// Engine is the family of the rules the stage itself generates (200000 to
// 200099: body-processor errors, body limit).
const Engine = "engine"

// Custom is the family of every other rule: the operator's rule files, CRS
// setup and plugins.
const Custom = "custom"

// Of returns the family of a rule ID given as a decimal string. It never
// returns anything outside Names.
func Of(id string) string {
	n, err := strconv.Atoi(id)
	if err != nil || n < 0 {
		return Custom
	}
	return OfID(n)
}

// OfID is Of for an integer ID.
func OfID(n int) string {
	switch {
	case n >= 200000 && n < 200100:
		return Engine
	case n >= 900000 && n < 1000000:
		if f, ok := crs[n/1000]; ok {
			return f
		}
	}
	return Custom
}

// Names lists every family Of can return.
func Names() []string {
	out := []string{Engine, Custom}
	for _, f := range crs {
		out = append(out, f)
	}
	return out
}
