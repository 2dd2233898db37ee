package dlp

// ibanLengths maps each IBAN country to its fixed length (SWIFT registry).
var ibanLengths = map[string]int{
	"AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BI": 27,
	"BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27, "DK": 18, "DO": 28,
	"EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
	"GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27,
	"JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25,
	"MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18,
	"NO": 15, "OM": 23, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33,
	"SA": 24, "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28,
	"TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}

func upper(c byte) byte {
	if isLower(c) {
		return c - 'a' + 'A'
	}
	return c
}

// findIBANs looks for two letters and two check digits at a word
// start, then collects the country's number of characters, allowing single
// spaces between groups, and checks length and mod-97.
func findIBANs(t *input, out []Finding) []Finding {
	s := t.s
	for i := 0; i+4 < len(s); i++ {
		if !isAlpha(s[i]) || !isAlpha(s[i+1]) || !isDigit(s[i+2]) || !isDigit(s[i+3]) || wordBefore(s, i) {
			continue
		}
		want, ok := ibanLengths[string([]byte{upper(s[i]), upper(s[i+1])})]
		if !ok {
			continue
		}
		var buf [34]byte
		n, j := 0, i
		for j < len(s) && n < want {
			c := s[j]
			if c == ' ' && j > i && j+1 < len(s) && isAlnum(s[j+1]) {
				j++
				continue
			}
			if !isDigit(c) && !isAlpha(c) {
				break
			}
			buf[n] = upper(c)
			n++
			j++
		}
		if n != want || wordAfter(s, j) || !mod97(string(buf[:n])) {
			continue
		}
		out = append(out, Finding{Type: TypeIBAN, ByteStart: i, ByteEnd: j, Score: 0.95, Detector: "iban"})
		i = j - 1
	}
	return out
}
