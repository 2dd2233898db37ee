package dlp

import "strings"

// tokenRule recognises a credential by its provider's literal prefix and
// the length and alphabet of the rest. Prefixes make these rules precise:
// they are what providers add to keys precisely so that scanners find them.
type tokenRule struct {
	prefix   string
	typ      string
	class    func(byte) bool
	min, max int
	score    float64
	// check, when set, may reclassify or reject the whole token.
	check func(tok string) (string, bool)
}

func b64url(c byte) bool   { return isAlnum(c) || c == '-' || c == '_' }
func b64std(c byte) bool   { return isAlnum(c) || c == '+' || c == '/' }
func upperNum(c byte) bool { return isUpper(c) || isDigit(c) }
func lowerHex(c byte) bool { return isDigit(c) || c >= 'a' && c <= 'f' }
func glChars(c byte) bool  { return b64url(c) || c == '.' }
func slackCh(c byte) bool  { return isAlnum(c) || c == '-' }
func webhook(c byte) bool  { return isAlnum(c) || c == '/' }
func hexDash(c byte) bool  { return lowerHex(c) || c == '-' }
func lowerNum(c byte) bool { return isLower(c) || isDigit(c) }
func alnumDot(c byte) bool { return isAlnum(c) || c == '.' }

// mixedBody rejects tokens whose part after a short, word-like prefix of n
// bytes is a single character class ("API-" + an upper-case word): real
// keys mix letters and digits.
func mixedBody(typ string, n int) func(tok string) (string, bool) {
	return func(tok string) (string, bool) { return typ, classes(tok[n:]) >= 2 }
}

var tokenRules = []tokenRule{
	{prefix: "AKIA", typ: TypeAWSAccessKey, class: upperNum, min: 16, max: 16, score: 0.95},
	{prefix: "ASIA", typ: TypeAWSAccessKey, class: upperNum, min: 16, max: 16, score: 0.95},
	{prefix: "ABIA", typ: TypeAWSAccessKey, class: upperNum, min: 16, max: 16, score: 0.9},
	{prefix: "ACCA", typ: TypeAWSAccessKey, class: upperNum, min: 16, max: 16, score: 0.9},
	{prefix: "AIza", typ: TypeGCPAPIKey, class: b64url, min: 35, max: 35, score: 0.95},
	{prefix: "GOCSPX-", typ: TypeGCPOAuthSecret, class: b64url, min: 28, max: 28, score: 0.95},
	{prefix: "ghp_", typ: TypeGitHubToken, class: isAlnum, min: 36, max: 36, score: 0.99},
	{prefix: "gho_", typ: TypeGitHubToken, class: isAlnum, min: 36, max: 36, score: 0.99},
	{prefix: "ghu_", typ: TypeGitHubToken, class: isAlnum, min: 36, max: 36, score: 0.99},
	{prefix: "ghs_", typ: TypeGitHubToken, class: isAlnum, min: 36, max: 36, score: 0.99},
	{prefix: "ghr_", typ: TypeGitHubToken, class: isAlnum, min: 36, max: 36, score: 0.99},
	{prefix: "github_pat_", typ: TypeGitHubToken, class: isWord, min: 60, max: 100, score: 0.99},
	{prefix: "glpat-", typ: TypeGitLabToken, class: glChars, min: 20, max: 80, score: 0.97},
	{prefix: "gldt-", typ: TypeGitLabToken, class: glChars, min: 20, max: 80, score: 0.97},
	{prefix: "glrt-", typ: TypeGitLabToken, class: glChars, min: 20, max: 80, score: 0.97},
	{prefix: "glptt-", typ: TypeGitLabToken, class: glChars, min: 20, max: 80, score: 0.97},
	{prefix: "xoxb-", typ: TypeSlackToken, class: slackCh, min: 10, max: 120, score: 0.97},
	{prefix: "xoxp-", typ: TypeSlackToken, class: slackCh, min: 10, max: 120, score: 0.97},
	{prefix: "xoxa-", typ: TypeSlackToken, class: slackCh, min: 10, max: 120, score: 0.97},
	{prefix: "xoxr-", typ: TypeSlackToken, class: slackCh, min: 10, max: 120, score: 0.97},
	{prefix: "xoxs-", typ: TypeSlackToken, class: slackCh, min: 10, max: 120, score: 0.97},
	{prefix: "xoxe-", typ: TypeSlackToken, class: slackCh, min: 10, max: 300, score: 0.97},
	{prefix: "xapp-", typ: TypeSlackToken, class: slackCh, min: 10, max: 160, score: 0.97},
	{prefix: "https://hooks.slack.com/services/", typ: TypeSlackWebhook, class: webhook, min: 20, max: 100, score: 0.97},
	{prefix: "sk_live_", typ: TypeStripeKey, class: isAlnum, min: 20, max: 247, score: 0.97},
	{prefix: "rk_live_", typ: TypeStripeKey, class: isAlnum, min: 20, max: 247, score: 0.97},
	{prefix: "sk_test_", typ: TypeStripeKey, class: isAlnum, min: 20, max: 247, score: 0.9},
	{prefix: "rk_test_", typ: TypeStripeKey, class: isAlnum, min: 20, max: 247, score: 0.9},
	{prefix: "whsec_", typ: TypeStripeKey, class: isAlnum, min: 24, max: 64, score: 0.9},
	{prefix: "sk-", typ: TypeGenericAPIKey, class: b64url, min: 20, max: 250, score: 0.8, check: classifySK},
	{prefix: "hf_", typ: TypeHuggingFaceToken, class: isAlpha, min: 30, max: 40, score: 0.95},
	{prefix: "api_org_", typ: TypeHuggingFaceToken, class: isAlpha, min: 30, max: 40, score: 0.9},
	{prefix: "npm_", typ: "SECRET_NPM_TOKEN", class: isAlnum, min: 36, max: 36, score: 0.95},
	{prefix: "pypi-AgEIcHlwaS5vcmc", typ: "SECRET_PYPI_TOKEN", class: b64url, min: 50, max: 300, score: 0.97},
	{prefix: "dop_v1_", typ: "SECRET_DIGITALOCEAN_TOKEN", class: lowerHex, min: 64, max: 64, score: 0.97},
	{prefix: "shpat_", typ: "SECRET_SHOPIFY_TOKEN", class: isHex, min: 32, max: 32, score: 0.97},
	{prefix: "shpss_", typ: "SECRET_SHOPIFY_TOKEN", class: isHex, min: 32, max: 32, score: 0.97},
	{prefix: "dapi", typ: "SECRET_DATABRICKS_TOKEN", class: lowerHex, min: 32, max: 32, score: 0.9},
	{prefix: "gsk_", typ: "SECRET_GROQ_API_KEY", class: isAlnum, min: 52, max: 52, score: 0.95},
	{prefix: "r8_", typ: "SECRET_REPLICATE_TOKEN", class: isAlnum, min: 37, max: 37, score: 0.9},
	{prefix: "SG.", typ: "SECRET_SENDGRID_API_KEY", class: glChars, min: 66, max: 66, score: 0.97},
	{prefix: "SK", typ: "SECRET_TWILIO_API_KEY", class: lowerHex, min: 32, max: 32, score: 0.85},
	// Fixed-prefix formats that gitleaks' rule set knows, added after the
	// comparison in eval/secrets measured them missed in prose.
	{prefix: "pplx-", typ: "SECRET_PERPLEXITY_API_KEY", class: isAlnum, min: 48, max: 48, score: 0.95},
	{prefix: "ABSK", typ: "SECRET_AWS_BEDROCK_API_KEY", class: b64std, min: 109, max: 269, score: 0.9},
	{prefix: "hvs.", typ: "SECRET_VAULT_TOKEN", class: b64url, min: 90, max: 120, score: 0.95},
	{prefix: "hvb.", typ: "SECRET_VAULT_TOKEN", class: b64url, min: 138, max: 300, score: 0.95},
	{prefix: "glc_", typ: "SECRET_GRAFANA_TOKEN", class: b64std, min: 32, max: 400, score: 0.9, check: mixedBody("SECRET_GRAFANA_TOKEN", 4)},
	{prefix: "glsa_", typ: "SECRET_GRAFANA_TOKEN", class: isWord, min: 41, max: 41, score: 0.95},
	{prefix: "dp.pt.", typ: "SECRET_DOPPLER_TOKEN", class: isAlnum, min: 43, max: 43, score: 0.95},
	{prefix: "ops_eyJ", typ: "SECRET_ONEPASSWORD_TOKEN", class: b64std, min: 250, max: 4096, score: 0.95},
	{prefix: "pul-", typ: "SECRET_PULUMI_TOKEN", class: lowerHex, min: 40, max: 40, score: 0.95},
	{prefix: "PMAK-", typ: "SECRET_POSTMAN_API_KEY", class: hexDash, min: 59, max: 59, score: 0.95},
	{prefix: "sntryu_", typ: "SECRET_SENTRY_TOKEN", class: lowerHex, min: 64, max: 64, score: 0.95},
	{prefix: "HRKU-AA", typ: "SECRET_HEROKU_API_KEY", class: b64url, min: 58, max: 58, score: 0.95},
	{prefix: "fo1_", typ: "SECRET_FLYIO_TOKEN", class: b64url, min: 43, max: 43, score: 0.95},
	{prefix: "ntn_", typ: "SECRET_NOTION_TOKEN", class: isAlnum, min: 46, max: 46, score: 0.95},
	{prefix: "pnu_", typ: "SECRET_PREFECT_API_KEY", class: isAlnum, min: 36, max: 36, score: 0.9, check: mixedBody("SECRET_PREFECT_API_KEY", 4)},
	{prefix: "rdme_", typ: "SECRET_README_API_KEY", class: lowerNum, min: 70, max: 70, score: 0.95},
	{prefix: "rubygems_", typ: "SECRET_RUBYGEMS_API_KEY", class: lowerHex, min: 48, max: 48, score: 0.97},
	{prefix: "shpca_", typ: "SECRET_SHOPIFY_TOKEN", class: isHex, min: 32, max: 32, score: 0.97},
	{prefix: "shppa_", typ: "SECRET_SHOPIFY_TOKEN", class: isHex, min: 32, max: 32, score: 0.97},
	{prefix: "glft-", typ: TypeGitLabToken, class: glChars, min: 20, max: 80, score: 0.95},
	{prefix: "glsoat-", typ: TypeGitLabToken, class: glChars, min: 20, max: 80, score: 0.95},
	{prefix: "glffct-", typ: TypeGitLabToken, class: glChars, min: 20, max: 80, score: 0.95},
	{prefix: "glimt-", typ: TypeGitLabToken, class: glChars, min: 25, max: 80, score: 0.95},
	{prefix: "glagent-", typ: TypeGitLabToken, class: glChars, min: 50, max: 80, score: 0.95},
	{prefix: "gloas-", typ: TypeGitLabToken, class: glChars, min: 64, max: 80, score: 0.95},
	{prefix: "glcbt-", typ: TypeGitLabToken, class: glChars, min: 22, max: 80, score: 0.95},
	{prefix: "doo_v1_", typ: "SECRET_DIGITALOCEAN_TOKEN", class: lowerHex, min: 64, max: 64, score: 0.97},
	{prefix: "dor_v1_", typ: "SECRET_DIGITALOCEAN_TOKEN", class: lowerHex, min: 64, max: 64, score: 0.97},
	{prefix: "AGE-SECRET-KEY-1", typ: "SECRET_AGE_KEY", class: upperNum, min: 58, max: 58, score: 0.97},
	{prefix: "pscale_tkn_", typ: "SECRET_PLANETSCALE_TOKEN", class: glChars, min: 32, max: 64, score: 0.95},
	{prefix: "pscale_oauth_", typ: "SECRET_PLANETSCALE_TOKEN", class: glChars, min: 32, max: 64, score: 0.95},
	{prefix: "pscale_pw_", typ: "SECRET_PLANETSCALE_TOKEN", class: glChars, min: 32, max: 64, score: 0.95},
	{prefix: "xkeysib-", typ: "SECRET_BREVO_API_KEY", class: slackCh, min: 81, max: 81, score: 0.97},
	{prefix: "LTAI", typ: "SECRET_ALIBABA_ACCESS_KEY", class: isAlnum, min: 20, max: 20, score: 0.85, check: mixedBody("SECRET_ALIBABA_ACCESS_KEY", 4)},
	{prefix: "AKCp", typ: "SECRET_ARTIFACTORY_API_KEY", class: isAlnum, min: 69, max: 69, score: 0.9},
	{prefix: "NRAK-", typ: "SECRET_NEWRELIC_API_KEY", class: isAlnum, min: 27, max: 27, score: 0.9},
	{prefix: "dt0c01.", typ: "SECRET_DYNATRACE_TOKEN", class: alnumDot, min: 89, max: 89, score: 0.95},
	{prefix: "lin_api_", typ: "SECRET_LINEAR_API_KEY", class: isAlnum, min: 40, max: 40, score: 0.95},
	{prefix: "EZAK", typ: "SECRET_EASYPOST_API_KEY", class: isAlnum, min: 54, max: 54, score: 0.9},
	{prefix: "EZTK", typ: "SECRET_EASYPOST_API_KEY", class: isAlnum, min: 54, max: 54, score: 0.9},
	{prefix: "duffel_live_", typ: "SECRET_DUFFEL_TOKEN", class: b64url, min: 43, max: 43, score: 0.95},
	{prefix: "duffel_test_", typ: "SECRET_DUFFEL_TOKEN", class: b64url, min: 43, max: 43, score: 0.9},
	{prefix: "fio-u-", typ: "SECRET_FRAMEIO_TOKEN", class: b64url, min: 64, max: 64, score: 0.95},
	{prefix: "CLOJARS_", typ: "SECRET_CLOJARS_TOKEN", class: isAlnum, min: 60, max: 60, score: 0.95},
	{prefix: "shippo_live_", typ: "SECRET_SHIPPO_API_KEY", class: isHex, min: 40, max: 40, score: 0.95},
	{prefix: "shippo_test_", typ: "SECRET_SHIPPO_API_KEY", class: isHex, min: 40, max: 40, score: 0.9},
	{prefix: "ico-", typ: "SECRET_INFRACOST_API_KEY", class: isAlnum, min: 32, max: 32, score: 0.9, check: mixedBody("SECRET_INFRACOST_API_KEY", 4)},
	{prefix: "sgp_", typ: "SECRET_SOURCEGRAPH_TOKEN", class: isWord, min: 40, max: 57, score: 0.9},
	{prefix: "v1.0-", typ: "SECRET_CLOUDFLARE_CA_KEY", class: hexDash, min: 171, max: 171, score: 0.95},
	{prefix: "tk-us-", typ: "SECRET_SCALINGO_TOKEN", class: b64url, min: 48, max: 48, score: 0.9},
	{prefix: "API-", typ: "SECRET_OCTOPUS_API_KEY", class: upperNum, min: 26, max: 26, score: 0.85, check: mixedBody("SECRET_OCTOPUS_API_KEY", 4)},
	{prefix: "sha256~", typ: "SECRET_OPENSHIFT_TOKEN", class: b64url, min: 43, max: 43, score: 0.9},
	{prefix: "sq0atp-", typ: "SECRET_SQUARE_TOKEN", class: b64url, min: 22, max: 60, score: 0.95},
	{prefix: "FLWSECK_TEST-", typ: "SECRET_FLUTTERWAVE_KEY", class: slackCh, min: 34, max: 34, score: 0.9},
	{prefix: "FLWSECK-", typ: "SECRET_FLUTTERWAVE_KEY", class: slackCh, min: 34, max: 34, score: 0.95},
	{prefix: "AccountKey=", typ: TypeAzureStorageKey, class: b64std, min: 86, max: 88, score: 0.97},
	{prefix: "eyJ", typ: TypeJWT, class: jwtChars, min: 20, max: 8192, score: 0.95, check: checkJWT},
}

// classifySK sorts the many "sk-" keys: Anthropic's carry "sk-ant-",
// OpenAI's a project or service prefix or the "T3BlbkFJ" marker, DeepSeek's
// 32 lower-case hex digits. Others stay generic API keys if they look random.
func classifySK(tok string) (string, bool) {
	body := tok[3:]
	switch {
	case strings.HasPrefix(body, "ant-"):
		return TypeAnthropicKey, len(body) >= 36
	case strings.HasPrefix(body, "proj-"), strings.HasPrefix(body, "svcacct-"), strings.HasPrefix(body, "admin-"),
		strings.Contains(body, "T3BlbkFJ"):
		return TypeOpenAIKey, true
	case len(body) == 32 && allOf(body, lowerHex):
		return TypeDeepSeekKey, true
	case len(body) == 48 && allOf(body, isAlnum):
		return TypeOpenAIKey, true
	}
	return TypeGenericAPIKey, entropy(body) >= 3.5 && classes(body) >= 2
}

func allOf(s string, class func(byte) bool) bool {
	for i := 0; i < len(s); i++ {
		if !class(s[i]) {
			return false
		}
	}
	return true
}

// classes counts the character classes (lower, upper, digit) present in s.
func classes(s string) int {
	var lo, up, di int
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case isLower(c):
			lo = 1
		case isUpper(c):
			up = 1
		case isDigit(c):
			di = 1
		}
	}
	return lo + up + di
}

// ruleIndex maps a first byte to the rules whose prefix starts with it, so
// that one pass over the text tests only plausible rules at each position.
var ruleIndex = func() (idx [256][]int) {
	for i, r := range tokenRules {
		idx[r.prefix[0]] = append(idx[r.prefix[0]], i)
	}
	return idx
}()

// findTokens is the single pass over the text for prefixed credentials.
func findTokens(t *input, out []Finding) []Finding {
	s := t.s
	for i := 0; i < len(s); i++ {
		rules := ruleIndex[s[i]]
		if rules == nil || wordBefore(s, i) {
			continue
		}
		for _, ri := range rules {
			if f, ok := matchRule(&tokenRules[ri], s, i); ok {
				out = append(out, f)
				i = f.ByteEnd - 1
				break
			}
		}
	}
	return out
}

func matchRule(r *tokenRule, s string, i int) (Finding, bool) {
	if !strings.HasPrefix(s[i:], r.prefix) {
		return Finding{}, false
	}
	j := i + len(r.prefix)
	for j < len(s) && j-i-len(r.prefix) <= r.max && r.class(s[j]) {
		j++
	}
	n := j - i - len(r.prefix)
	if n < r.min || n > r.max || j < len(s) && r.class(s[j]) || fakeBody(s[i+len(r.prefix):j]) {
		return Finding{}, false
	}
	typ := r.typ
	if r.check != nil {
		var ok bool
		if typ, ok = r.check(s[i:j]); !ok {
			return Finding{}, false
		}
	}
	return Finding{Type: typ, ByteStart: i, ByteEnd: j, Score: r.score, Detector: "token"}, true
}
