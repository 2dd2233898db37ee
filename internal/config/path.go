package config

import "strconv"

// joinKey appends a mapping key to a field path. Keys that are not plain
// words are quoted so that a name holding a dot cannot be mistaken for two
// levels.
func joinKey(path, key string) string {
	if !plainKey(key) {
		return path + "[" + strconv.Quote(key) + "]"
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

// joinIndex appends a sequence index to a field path.
func joinIndex(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

// plainKey reports whether key is made only of letters, digits, '_' and '-'.
func plainKey(key string) bool {
	if key == "" {
		return false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !(c == '_' || c == '-' || (c >= '0' && c <= '9') || (c|0x20 >= 'a' && c|0x20 <= 'z')) {
			return false
		}
	}
	return true
}

// parentPath strips the last element of a field path, so that a problem
// with a missing field can be shown at the line of its enclosing block.
func parentPath(path string) string {
	for i := len(path) - 1; i >= 0; i-- {
		switch path[i] {
		case '.':
			return path[:i]
		case '[':
			if i > 0 {
				return path[:i]
			}
			return ""
		case '"':
			// Skip a quoted key, which may hold dots and brackets.
			for i--; i > 0 && !(path[i] == '"' && path[i-1] != '\\'); i-- {
			}
		}
	}
	return ""
}
