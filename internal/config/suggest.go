package config

import "strconv"

// suggest returns ` (did you mean "x"?)` for the known name closest to an
// unknown key, or "" when none is close enough to be a likely typo.
func suggest(key string, known []string) string {
	best, bestDist := "", len(key)/3+1
	if bestDist > 3 {
		bestDist = 3
	}
	for _, k := range known {
		if d := distance(key, k); d <= bestDist && (best == "" || d < bestDist) {
			best, bestDist = k, d
		}
	}
	if best == "" {
		return ""
	}
	return " (did you mean " + strconv.Quote(best) + "?)"
}

// distance is the Levenshtein edit distance between two short ASCII keys.
func distance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		// Keys this long are not typos of a field name.
		return 64
	}
	var rowBuf [65]int
	row := rowBuf[:len(b)+1]
	for j := range row {
		row[j] = j
	}
	for i := 1; i <= len(a); i++ {
		prev := row[0]
		row[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur := min(row[j]+1, row[j-1]+1, prev+cost)
			prev, row[j] = row[j], cur
		}
	}
	return row[len(b)]
}
