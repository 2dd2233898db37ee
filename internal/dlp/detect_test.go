package dlp

import (
	"slices"
	"testing"
)

// detectCase expects the value want of type typ in text, or, with want
// empty, no finding of type typ.
type detectCase struct {
	desc string
	text string
	typ  string
	want string
}

func runDetectCases(t *testing.T, cases []detectCase) {
	t.Helper()
	sc := mustScanner(t, Config{})
	for _, tc := range cases {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			var got []string
			for _, f := range sc.Scan(tc.text) {
				if f.Type == tc.typ {
					got = append(got, tc.text[f.ByteStart:f.ByteEnd])
				}
			}
			switch {
			case tc.want == "" && len(got) > 0:
				t.Fatalf("Scan(%q) found %s %q, want none", tc.text, tc.typ, got)
			case tc.want != "" && !slices.Contains(got, tc.want):
				t.Fatalf("Scan(%q) found %s %q, want %q", tc.text, tc.typ, got, tc.want)
			}
		})
	}
}

func mustScanner(t testing.TB, cfg Config) *Scanner {
	t.Helper()
	sc, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return sc
}

func TestEmail(t *testing.T) {
	t.Parallel()
	runDetectCases(t, []detectCase{
		{"plain", "write to jane.doe@example.com today", TypeEmail, "jane.doe@example.com"},
		{"plus and subdomain", "<a.b+tag@mail.corp.example.co.uk>", TypeEmail, "a.b+tag@mail.corp.example.co.uk"},
		{"trailing dot excluded", "mail bob@example.org.", TypeEmail, "bob@example.org"},
		{"unicode local part", "schreib jörg@example.de an", TypeEmail, "jörg@example.de"},
		{"after ideographs", "请联系john@example.cn谢谢", TypeEmail, "john@example.cn"},
		{"no tld", "user@localhost", TypeEmail, ""},
		{"numeric tld", "a@b.c1", TypeEmail, ""},
		{"double dot", "a..b@example.com", TypeEmail, ""},
		{"decorator", "@property def x(self)", TypeEmail, ""},
		{"hyphen edge label", "x@-bad.com", TypeEmail, ""},
	})
}

func TestCreditCard(t *testing.T) {
	t.Parallel()
	runDetectCases(t, []detectCase{
		{"visa plain", "card 4111111111111111 exp", TypeCreditCard, "4111111111111111"},
		{"visa spaced groups", "card 4111 1111 1111 1111.", TypeCreditCard, "4111 1111 1111 1111"},
		{"mastercard dashed", "5500-0000-0000-0004", TypeCreditCard, "5500-0000-0000-0004"},
		{"amex", "amex 378282246310005", TypeCreditCard, "378282246310005"},
		{"spaced digits obfuscation", "4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1", TypeCreditCard, "4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1"},
		{"bad luhn", "card 4111111111111112", TypeCreditCard, ""},
		{"luhn but no issuer", "id 1234567812345670", TypeCreditCard, ""},
		{"inside a word", "ref4111111111111111", TypeCreditCard, ""},
		{"followed by letters", "4111111111111111abc", TypeCreditCard, ""},
		{"unicode around", "卡号：4111111111111111。", TypeCreditCard, "4111111111111111"},
		{"two in a row", "4111111111111111 5500000000000004", TypeCreditCard, "5500000000000004"},
		// A run of more than 12 space-separated tokens was not split at all
		// (found by FuzzMask).
		{"among many numbers", "0 4111 1111 1111 1111 000 0 000 0 000 00 00 00 0000000", TypeCreditCard, "4111 1111 1111 1111"},
		{"end of a long table", "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 4111 1111 1111 1111", TypeCreditCard, "4111 1111 1111 1111"},
	})
}

func TestIBAN(t *testing.T) {
	t.Parallel()
	runDetectCases(t, []detectCase{
		{"gb compact", "pay GB82WEST12345698765432 now", TypeIBAN, "GB82WEST12345698765432"},
		{"de grouped", "IBAN: DE89 3704 0044 0532 0130 00.", TypeIBAN, "DE89 3704 0044 0532 0130 00"},
		{"lower case", "gb82west12345698765432", TypeIBAN, "gb82west12345698765432"},
		{"bad checksum", "GB83WEST12345698765432", TypeIBAN, ""},
		{"wrong length", "GB82WEST1234569876543", TypeIBAN, ""},
		{"unknown country", "ZZ82WEST12345698765432", TypeIBAN, ""},
		{"inside word", "xGB82WEST12345698765432", TypeIBAN, ""},
	})
}

func TestSSN(t *testing.T) {
	t.Parallel()
	runDetectCases(t, []detectCase{
		{"dashed", "SSN 308-63-0237.", TypeSSN, "308-63-0237"},
		{"plain with context", "social security number 308630237", TypeSSN, "308630237"},
		{"plain without context", "order 308630237", TypeSSN, ""},
		{"area 000", "000-12-3456", TypeSSN, ""},
		{"area 666", "666-12-3456", TypeSSN, ""},
		{"area 9xx", "912-12-3456", TypeSSN, ""},
		{"group 00", "123-00-4567", TypeSSN, ""},
		{"serial 0000", "123-45-0000", TypeSSN, ""},
		{"advertised", "078-05-1120", TypeSSN, ""},
		{"spaced needs context", "suite 680 36 4022", TypeSSN, ""},
		{"spaced with context", "my ssn: 680 36 4022", TypeSSN, "680 36 4022"},
	})
}

func TestPhone(t *testing.T) {
	t.Parallel()
	runDetectCases(t, []detectCase{
		{"us parens", "call (978)645-9740 now", TypePhone, "(978)645-9740"},
		{"us with extension", "001-748-088-2851x818", TypePhone, "001-748-088-2851x818"},
		{"international valid", "reach me on +44 20 7946 0958", TypePhone, "+44 20 7946 0958"},
		{"international dashed", "+1-962-819-8200", TypePhone, "+1-962-819-8200"},
		{"german national with context", "Phone: 089 72 63 41", TypePhone, "089 72 63 41"},
		{"dotted", "tel 833.719.3994", TypePhone, "833.719.3994"},
		{"years are not phones", "between 1990 2004 we grew", TypePhone, ""},
		{"clock time", "When: 1993-01-04 14:56:41", TypePhone, ""},
		{"short number", "room 12 34", TypePhone, ""},
		{"version", "v1.2.3", TypePhone, ""},
		{"plain digits no context", "order 2546712361", TypePhone, ""},
		{"timestamp cut at the hour", "<td>2023-04-03 01</td>", TypePhone, ""},
		{"golf scores", "Round scores 70-70-75-70 total", TypePhone, ""},
		{"two-digit groups with context", "Phone: 28-81-33-70", TypePhone, "28-81-33-70"},
		{"decimals in parentheses", "173.624 (279.42 km)", TypePhone, ""},
	})
}

func TestIP(t *testing.T) {
	t.Parallel()
	runDetectCases(t, []detectCase{
		{"ipv4", "host 86.231.85.193 down", TypeIP, "86.231.85.193"},
		{"ipv4 with port", "10.0.0.1:8080", TypeIP, "10.0.0.1"},
		{"octet over 255", "300.1.1.1", TypeIP, ""},
		{"five parts", "1.2.3.4.5", TypeIP, ""},
		{"leading zero", "01.2.3.4", TypeIP, ""},
		{"ipv6 full", "addr d80:e4b5:79da:6cf6:71f3:51f7:9161:c319 ok", TypeIP, "d80:e4b5:79da:6cf6:71f3:51f7:9161:c319"},
		{"ipv6 compressed", "fe80::1ff:fe23:4567:890a", TypeIP, "fe80::1ff:fe23:4567:890a"},
		{"cpp scope", "std::vector<int>", TypeIP, ""},
		{"clock", "at 12:30:45 today", TypeIP, ""},
	})
}

func TestDateOfBirth(t *testing.T) {
	t.Parallel()
	runDetectCases(t, []detectCase{
		{"born on", "She was born on 2/7/1961. Her", TypeDateTime, "2/7/1961"},
		{"date of birth iso", "date of birth: 1984-06-15", TypeDateTime, "1984-06-15"},
		{"dob", "DOB 15.06.1984", TypeDateTime, "15.06.1984"},
		{"meeting date", "We meet on 2/7/2024.", TypeDateTime, ""},
		{"invalid month", "born 13/13/1990", TypeDateTime, ""},
	})
}

func TestSecrets(t *testing.T) {
	t.Parallel()
	runDetectCases(t, []detectCase{
		{"aws access key", "aws_access_key = 'AKIAZ7VQX2M4TB3WJQ5N'", TypeAWSAccessKey, "AKIAZ7VQX2M4TB3WJQ5N"},
		{"aws too short", "AKIAZ7VQX2M4TB3WJQ5", TypeAWSAccessKey, ""},
		{"aws secret by keyword", "aws_secret_access_key = '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'", TypeAWSSecretKey, "h3Kq9ZtV/x7LmR2pWc8yNb4sJf6Gd1EoUa5TiXvQ"},
		{"gcp api key", "key=AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY&", TypeGCPAPIKey, "AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY"},
		{"github token", "token ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789 x", TypeGitHubToken, "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"},
		{"github token inside word", "xghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789", TypeGitHubToken, ""},
		{"gitlab token", "glpat-xYz8Fq2LmW4nR7tK1vB9", TypeGitLabToken, "glpat-xYz8Fq2LmW4nR7tK1vB9"},
		{"slack bot token", "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx", TypeSlackToken, "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"},
		{"stripe live", "sk_live_4eC39HqLyjWDarjtT1zdp7dc", TypeStripeKey, "sk_live_4eC39HqLyjWDarjtT1zdp7dc"},
		{"openai project", "sk-proj-AbCdEf0123456789AbCdEf0123456789", TypeOpenAIKey, "sk-proj-AbCdEf0123456789AbCdEf0123456789"},
		{"deepseek", "DEEPSEEK_API_KEY=sk-7f3a9c0e41d25b86a9e03c7d1f5b2e48", TypeDeepSeekKey, "sk-7f3a9c0e41d25b86a9e03c7d1f5b2e48"},
		{"anthropic", "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_AbCd", TypeAnthropicKey, "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_AbCd"},
		{"sk prose", "use sk-learn-style-pipelines-for-this", TypeGenericAPIKey, ""},
		{"hugging face", "hf_AbCdEfGhIjKlMnOpQrStUvWxYzAbCdEfGh", TypeHuggingFaceToken, "hf_AbCdEfGhIjKlMnOpQrStUvWxYzAbCdEfGh"},
		{"jwt", "Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U", TypeJWT, "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"},
		{"jwt bad header", "eyJub3RoaW5nIjoxfQ.eyJzdWIiOiIxMjM0NTY3ODkwIn0.sig", TypeJWT, ""},
		{"url password", "postgres://app:s3cr3t!@db.internal:5432/x", TypeURLPassword, "s3cr3t!"},
		{"url placeholder", "postgres://app:${DB_PASSWORD}@db/x", TypeURLPassword, ""},
		{"password assignment", `password = "hunter2!x"`, TypePassword, "hunter2!x"},
		{"password prose", "my password is Tr0ub4dor#3 ok", TypePassword, "Tr0ub4dor#3"},
		{"password prose word", "the password is incorrect", TypePassword, ""},
		{"password code", "password = get_password()", TypePassword, ""},
		{"password comparison", "if password == other:", TypePassword, ""},
		{"connection string", "Server=db;User Id=sa;Password=P@ssw0rd123;", TypePassword, "P@ssw0rd123"},
		{"secret keyword camel", "secret = 'notHighEnoughEntropy'", TypeKeywordSecret, "notHighEnoughEntropy"},
		{"max tokens", "max_tokens: 4096", TypeKeywordSecret, ""},
		{"high entropy assigned", "mimi=gX69YO4CvBsVjzAwYxdGyDd30t5+9ez31gKATtj4\n", TypeHighEntropy, "gX69YO4CvBsVjzAwYxdGyDd30t5+9ez31gKATtj4"},
		{"uuid", "id: '203db13e-70c7-462b-9a3d-bf32640cb0be'", TypeHighEntropy, ""},
		{"sentence", "this is just a long string, like a user facing error message", TypeHighEntropy, ""},
	})
}

func TestPrivateKey(t *testing.T) {
	t.Parallel()
	key := "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MhgHcTz6sE2I2yPB\naFDrBz9vFqU4yQ==\n-----END RSA PRIVATE KEY-----"
	runDetectCases(t, []detectCase{
		{"complete block", "key:\n" + key + "\nthanks", TypePrivateKey, key},
		{"truncated block", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU=\n", TypePrivateKey, "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU="},
		{"json escaped", `"private_key": "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n"`, TypePrivateKey, `-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----`},
		{"public key", "-----BEGIN PUBLIC KEY-----\nMIIBIjANBg\n-----END PUBLIC KEY-----", TypePrivateKey, ""},
	})
}

func TestCustomAndTerms(t *testing.T) {
	t.Parallel()
	sc := mustScanner(t, Config{
		Custom: []CustomDetector{
			{Type: "EMPLOYEE_ID", Pattern: `EMP-[0-9]{6}`},
			{Type: "CARD_REF", Pattern: `\b[0-9]{16}\b`, Validator: "luhn", ContextWords: []string{"ref"}},
		},
		Terms: []TermDictionary{{Type: "PROJECT_CODENAME", Terms: []string{"Bluebird", "Night Owl"}}},
	})
	cases := []struct {
		desc, text, typ string
		n               int
	}{
		{"custom regex", "ask EMP-123456 and EMP-654321", "EMPLOYEE_ID", 2},
		{"custom validator rejects", "ref 1234567812345678", "CARD_REF", 0},
		{"custom context missing", "4111111111111111", "CARD_REF", 0},
		{"term any case", "the BLUEBIRD launch", "PROJECT_CODENAME", 1},
		{"term two words", "night owl ships", "PROJECT_CODENAME", 1},
		{"term inside word", "bluebirds", "PROJECT_CODENAME", 0},
	}
	for _, tc := range cases {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			n := 0
			for _, f := range sc.Scan(tc.text) {
				if f.Type == tc.typ {
					n++
				}
			}
			if n != tc.n {
				t.Fatalf("Scan(%q): %d findings of %s, want %d", tc.text, n, tc.typ, tc.n)
			}
		})
	}
}

func TestOffsetsCountCodePoints(t *testing.T) {
	t.Parallel()
	sc := mustScanner(t, Config{})
	text := "Grüße 👋 an jörg@example.de und 308-63-0237"
	fs := sc.Scan(text)
	if len(fs) != 2 {
		t.Fatalf("Scan: %d findings, want 2: %+v", len(fs), fs)
	}
	rs := []rune(text)
	for _, f := range fs {
		if got, want := string(rs[f.Start:f.End]), text[f.ByteStart:f.ByteEnd]; got != want {
			t.Errorf("%s: code point span %q, byte span %q", f.Type, got, want)
		}
	}
}
