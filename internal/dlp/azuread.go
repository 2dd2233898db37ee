package dlp

// azureChar reports bytes of an Azure AD (Entra ID) client secret.
func azureChar(c byte) bool { return isAlnum(c) || c == '_' || c == '~' || c == '.' || c == '-' }

// findAzureADSecrets finds Entra ID client secrets: three characters, a
// digit, the marker "Q~" and 31 to 34 more characters, 37 to 40 in all
// ("abc8Q~..."). The marker at a fixed place is what makes them specific;
// the span must be a whole token, not part of a longer one.
func findAzureADSecrets(t *input, out []Finding) []Finding {
	s := t.s
	for off := 0; ; {
		k := indexFrom(s, "Q~", off)
		if k < 0 {
			return out
		}
		off = k + 2
		start := k - 4
		if start < 0 || start > 0 && azureChar(s[start-1]) || !isDigit(s[k-1]) ||
			!allOf(s[start:k-1], func(c byte) bool { return azureChar(c) && c != '-' }) {
			continue
		}
		end := k + 2
		for end < len(s) && end-k-2 <= 36 && azureChar(s[end]) {
			end++
		}
		if end < len(s) && azureChar(s[end]) {
			continue // longer than any secret
		}
		for end > k+2 && s[end-1] == '.' {
			end-- // a full stop ends the sentence, not the secret
		}
		if n := end - k - 2; n < 31 || n > 34 {
			continue
		}
		out = append(out, Finding{Type: TypeAzureADSecret, ByteStart: start, ByteEnd: end, Score: 0.9, Detector: "azuread"})
		off = end
	}
}
