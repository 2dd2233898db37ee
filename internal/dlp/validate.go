package dlp

import (
	"strconv"
	"strings"
)

// isIPv4 reports whether v is exactly four dotted decimal octets.
func isIPv4(v string) bool {
	parts := strings.Split(v, ".")
	if len(parts) != 4 {
		return false
	}
	for _, p := range parts {
		if p == "" || len(p) > 3 || (len(p) > 1 && p[0] == '0') {
			return false
		}
		for i := 0; i < len(p); i++ {
			if !isDigit(p[i]) {
				return false
			}
		}
		if n, _ := strconv.Atoi(p); n > 255 {
			return false
		}
	}
	return true
}

// isDate reports whether v is a numeric calendar date: d/m/y or m/d/y with
// a two- or four-digit year, or y-m-d, using one separator throughout.
func isDate(v string) bool {
	sep := byte(0)
	var parts [3]string
	n, from := 0, 0
	for i := 0; i <= len(v); i++ {
		if i < len(v) && isDigit(v[i]) {
			continue
		}
		if i < len(v) {
			if (v[i] != '/' && v[i] != '-' && v[i] != '.') || (sep != 0 && v[i] != sep) || n == 2 {
				return false
			}
			sep = v[i]
		}
		parts[n] = v[from:i]
		n++
		from = i + 1
	}
	if n != 3 {
		return false
	}
	a, b, c := atoi(parts[0]), atoi(parts[1]), atoi(parts[2])
	switch {
	case len(parts[0]) == 4 && len(parts[1]) <= 2 && len(parts[2]) <= 2:
		return plausibleYear(a) && b >= 1 && b <= 12 && c >= 1 && c <= 31
	case len(parts[0]) <= 2 && len(parts[1]) <= 2 && (len(parts[2]) == 4 || len(parts[2]) == 2):
		if len(parts[2]) == 4 && !plausibleYear(c) {
			return false
		}
		return a >= 1 && b >= 1 && a <= 31 && b <= 31 && (a <= 12 || b <= 12)
	}
	return false
}

func plausibleYear(y int) bool { return y >= 1870 && y <= 2100 }

func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

// ssnShape reports whether v is written as an SSN: 3-2-4 digits with one
// separator (dash, space or dot) used twice.
func ssnShape(v string) bool {
	if len(v) != 11 {
		return false
	}
	sep := v[3]
	if (sep != '-' && sep != ' ' && sep != '.') || v[6] != sep {
		return false
	}
	for i, c := range []byte(v) {
		if i != 3 && i != 6 && !isDigit(c) {
			return false
		}
	}
	return true
}

// validSSN applies the Social Security Administration's rules: no area 000,
// 666 or 900-999, no group 00, no serial 0000, and not one of the numbers
// published in advertisements and documentation.
func validSSN(d string) bool {
	if len(d) != 9 {
		return false
	}
	area, group, serial := d[:3], d[3:5], d[5:]
	if area == "000" || area == "666" || area[0] == '9' || group == "00" || serial == "0000" {
		return false
	}
	switch d {
	case "078051120", "219099999", "123456789":
		return false
	}
	return strings.Count(d, d[:1]) != 9
}

// cardShape reports whether v could be a card number as written: 13 to 19
// digits separated only by single spaces or dashes.
func cardShape(v string, digits int) bool {
	if digits < 13 || digits > 19 {
		return false
	}
	for i := 0; i < len(v); i++ {
		if !isDigit(v[i]) && v[i] != ' ' && v[i] != '-' {
			return false
		}
	}
	return true
}

// validCard checks the Luhn sum and that the number falls in an issuer's
// range with a length that issuer uses.
func validCard(d string) bool {
	return luhn(d) && cardIssuer(d) != ""
}

// luhn reports whether the digit string passes the Luhn checksum.
func luhn(d string) bool {
	sum, double := 0, false
	for i := len(d) - 1; i >= 0; i-- {
		n := int(d[i] - '0')
		if double {
			n *= 2
			if n > 9 {
				n -= 9
			}
		}
		sum += n
		double = !double
	}
	return len(d) > 1 && sum%10 == 0
}

// cardIssuer names the scheme whose IIN range and lengths fit d, or "".
func cardIssuer(d string) string {
	n := len(d)
	p2, p3, p4, p6 := atoi(d[:2]), atoi(d[:3]), atoi(d[:4]), atoi(d[:6])
	switch {
	case d[0] == '4' && (n == 13 || n == 16 || n == 19):
		return "visa"
	case (p2 >= 51 && p2 <= 55 || p4 >= 2221 && p4 <= 2720) && n == 16:
		return "mastercard"
	case (p2 == 34 || p2 == 37) && n == 15:
		return "amex"
	case (p4 == 6011 || p2 == 65 || p3 >= 644 && p3 <= 649 || p6 >= 622126 && p6 <= 622925) && n >= 16:
		return "discover"
	case p4 >= 3528 && p4 <= 3589 && n >= 16:
		return "jcb"
	case (p3 >= 300 && p3 <= 305 || p2 == 36 || p2 == 38 || p2 == 39) && n >= 14:
		return "diners"
	case p2 == 62 && n >= 16:
		return "unionpay"
	case (p2 == 50 || p2 >= 56 && p2 <= 69) && n >= 12:
		return "maestro"
	case p4 >= 2200 && p4 <= 2204 && n == 16:
		return "mir"
	}
	return ""
}

// mod97 reports whether an IBAN (upper case, no spaces) passes ISO 7064
// mod-97-10 after moving the first four characters to the end.
func mod97(iban string) bool {
	if len(iban) < 5 {
		return false
	}
	r := iban[4:] + iban[:4]
	rem := 0
	for i := 0; i < len(r); i++ {
		c := r[i]
		switch {
		case isDigit(c):
			rem = (rem*10 + int(c-'0')) % 97
		case isUpper(c):
			rem = (rem*100 + int(c-'A'+10)) % 97
		default:
			return false
		}
	}
	return rem == 1
}
