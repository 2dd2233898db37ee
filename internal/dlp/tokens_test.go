package dlp

import (
	"strings"
	"testing"
)

// cycle returns n bytes drawn in turn from alphabet, stepping so that short
// strings still mix its character classes.
func cycle(alphabet string, n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteByte(alphabet[(i*7+3)%len(alphabet)])
	}
	return b.String()
}

const (
	tAlnum  = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	tHex    = "0123456789abcdef"
	tB64URL = tAlnum + "-_"
	tB64Std = tAlnum + "+/"
	tUpNum  = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	tLowNum = "abcdefghijklmnopqrstuvwxyz0123456789"
)

// TestPrefixedTokens checks each fixed-prefix format taken over from
// gitleaks' rule set at the shortest and longest valid length, and that one
// character too few or too many, or a letter glued before the prefix, is
// not reported.
func TestPrefixedTokens(t *testing.T) {
	t.Parallel()
	rules := []struct {
		prefix   string
		alphabet string
		min, max int
		typ      string
	}{
		{"pplx-", tAlnum, 48, 48, "SECRET_PERPLEXITY_API_KEY"},
		{"ABSK", tB64Std, 109, 269, "SECRET_AWS_BEDROCK_API_KEY"},
		{"hvs.", tB64URL, 90, 120, "SECRET_VAULT_TOKEN"},
		{"hvb.", tB64URL, 138, 300, "SECRET_VAULT_TOKEN"},
		{"glc_", tB64Std, 32, 400, "SECRET_GRAFANA_TOKEN"},
		{"glsa_", tAlnum + "_", 41, 41, "SECRET_GRAFANA_TOKEN"},
		{"dp.pt.", tAlnum, 43, 43, "SECRET_DOPPLER_TOKEN"},
		{"ops_eyJ", tB64Std, 250, 4096, "SECRET_ONEPASSWORD_TOKEN"},
		{"pul-", tHex, 40, 40, "SECRET_PULUMI_TOKEN"},
		{"PMAK-", tHex, 59, 59, "SECRET_POSTMAN_API_KEY"},
		{"sntryu_", tHex, 64, 64, "SECRET_SENTRY_TOKEN"},
		{"HRKU-AA", tB64URL, 58, 58, "SECRET_HEROKU_API_KEY"},
		{"fo1_", tB64URL, 43, 43, "SECRET_FLYIO_TOKEN"},
		{"ntn_", tAlnum, 46, 46, "SECRET_NOTION_TOKEN"},
		{"pnu_", tAlnum, 36, 36, "SECRET_PREFECT_API_KEY"},
		{"rdme_", tLowNum, 70, 70, "SECRET_README_API_KEY"},
		{"rubygems_", tHex, 48, 48, "SECRET_RUBYGEMS_API_KEY"},
		{"shpca_", tHex, 32, 32, "SECRET_SHOPIFY_TOKEN"},
		{"shppa_", tHex, 32, 32, "SECRET_SHOPIFY_TOKEN"},
		{"glft-", tB64URL, 20, 80, TypeGitLabToken},
		{"glsoat-", tB64URL, 20, 80, TypeGitLabToken},
		{"glffct-", tB64URL, 20, 80, TypeGitLabToken},
		{"glimt-", tB64URL, 25, 80, TypeGitLabToken},
		{"glagent-", tB64URL, 50, 80, TypeGitLabToken},
		{"gloas-", tB64URL, 64, 80, TypeGitLabToken},
		{"glcbt-", tB64URL, 22, 80, TypeGitLabToken},
		{"doo_v1_", tHex, 64, 64, "SECRET_DIGITALOCEAN_TOKEN"},
		{"dor_v1_", tHex, 64, 64, "SECRET_DIGITALOCEAN_TOKEN"},
		{"AGE-SECRET-KEY-1", tUpNum, 58, 58, "SECRET_AGE_KEY"},
		{"pscale_tkn_", tB64URL, 32, 64, "SECRET_PLANETSCALE_TOKEN"},
		{"pscale_oauth_", tB64URL, 32, 64, "SECRET_PLANETSCALE_TOKEN"},
		{"pscale_pw_", tB64URL, 32, 64, "SECRET_PLANETSCALE_TOKEN"},
		{"xkeysib-", tAlnum, 81, 81, "SECRET_BREVO_API_KEY"},
		{"LTAI", tAlnum, 20, 20, "SECRET_ALIBABA_ACCESS_KEY"},
		{"AKCp", tAlnum, 69, 69, "SECRET_ARTIFACTORY_API_KEY"},
		{"NRAK-", tUpNum, 27, 27, "SECRET_NEWRELIC_API_KEY"},
		{"dt0c01.", tAlnum, 89, 89, "SECRET_DYNATRACE_TOKEN"},
		{"lin_api_", tAlnum, 40, 40, "SECRET_LINEAR_API_KEY"},
		{"EZAK", tAlnum, 54, 54, "SECRET_EASYPOST_API_KEY"},
		{"EZTK", tAlnum, 54, 54, "SECRET_EASYPOST_API_KEY"},
		{"duffel_live_", tB64URL, 43, 43, "SECRET_DUFFEL_TOKEN"},
		{"duffel_test_", tB64URL, 43, 43, "SECRET_DUFFEL_TOKEN"},
		{"fio-u-", tB64URL, 64, 64, "SECRET_FRAMEIO_TOKEN"},
		{"CLOJARS_", tAlnum, 60, 60, "SECRET_CLOJARS_TOKEN"},
		{"shippo_live_", tHex, 40, 40, "SECRET_SHIPPO_API_KEY"},
		{"shippo_test_", tHex, 40, 40, "SECRET_SHIPPO_API_KEY"},
		{"ico-", tAlnum, 32, 32, "SECRET_INFRACOST_API_KEY"},
		{"sgp_", tHex + "_", 40, 57, "SECRET_SOURCEGRAPH_TOKEN"},
		{"v1.0-", tHex, 171, 171, "SECRET_CLOUDFLARE_CA_KEY"},
		{"tk-us-", tB64URL, 48, 48, "SECRET_SCALINGO_TOKEN"},
		{"API-", tUpNum, 26, 26, "SECRET_OCTOPUS_API_KEY"},
		{"sha256~", tB64URL, 43, 43, "SECRET_OPENSHIFT_TOKEN"},
		{"sq0atp-", tB64URL, 22, 60, "SECRET_SQUARE_TOKEN"},
		{"FLWSECK_TEST-", tAlnum, 34, 34, "SECRET_FLUTTERWAVE_KEY"},
		{"FLWSECK-", tAlnum, 34, 34, "SECRET_FLUTTERWAVE_KEY"},
	}
	var cases []detectCase
	for _, r := range rules {
		shortest := r.prefix + cycle(r.alphabet, r.min)
		longest := r.prefix + cycle(r.alphabet, r.max)
		cases = append(cases,
			detectCase{r.prefix + " shortest in env", "KEY=" + shortest + "\n", r.typ, shortest},
			detectCase{r.prefix + " longest quoted", `token = "` + longest + `"`, r.typ, longest},
			detectCase{r.prefix + " in prose", "Here is my key " + shortest + ", why is it refused?", r.typ, shortest},
			detectCase{r.prefix + " one short", "KEY=" + r.prefix + cycle(r.alphabet, r.min-1) + " x", r.typ, ""},
			detectCase{r.prefix + " one long", "KEY=" + r.prefix + cycle(r.alphabet, r.max+1) + " x", r.typ, ""},
			detectCase{r.prefix + " inside a word", "x" + shortest, r.typ, ""},
		)
	}
	cases = append(cases,
		detectCase{"octopus all letters", "API-" + strings.Repeat("GATEWAY", 4)[:26], "SECRET_OCTOPUS_API_KEY", ""},
		detectCase{"alibaba all lower", "LTAI" + strings.Repeat("abcde", 4), "SECRET_ALIBABA_ACCESS_KEY", ""},
		detectCase{"grafana all lower", "glc_" + strings.Repeat("abcdefgh", 5), "SECRET_GRAFANA_TOKEN", ""},
		detectCase{"postman real shape", "PMAK-" + cycle(tHex, 24) + "-" + cycle(tHex, 34), "SECRET_POSTMAN_API_KEY", "PMAK-" + cycle(tHex, 24) + "-" + cycle(tHex, 34)},
		detectCase{"postman upper hex", "PMAK-" + strings.ToUpper(cycle(tHex, 59)), "SECRET_POSTMAN_API_KEY", ""},
		detectCase{"age lower case", "AGE-SECRET-KEY-1" + strings.ToLower(cycle(tUpNum, 58)), "SECRET_AGE_KEY", ""},
		detectCase{"bedrock padded", "ABSK" + cycle(tB64Std, 130) + "==", "SECRET_AWS_BEDROCK_API_KEY", "ABSK" + cycle(tB64Std, 130)},
	)
	runDetectCases(t, cases)
}

func TestAzureADClientSecret(t *testing.T) {
	t.Parallel()
	body := cycle(tAlnum+"_~-", 34)
	secret := "aB3" + "8Q~" + body
	short := "aB38Q~" + body[:31]
	runDetectCases(t, []detectCase{
		{"env", "AZURE_CLIENT_SECRET=" + secret + "\n", TypeAzureADSecret, secret},
		{"json", `"clientSecret": "` + secret + `",`, TypeAzureADSecret, secret},
		{"shortest", "secret " + short + " ok", TypeAzureADSecret, short},
		{"at start of text", secret, TypeAzureADSecret, secret},
		{"full stop after", "The client secret is " + secret + ".", TypeAzureADSecret, secret},
		{"dots inside", "x a3.8Q~" + body[:20] + "." + body[20:33] + " y", TypeAzureADSecret, "a3.8Q~" + body[:20] + "." + body[20:33]},
		{"no digit before marker", "aB3x" + "Q~" + body, TypeAzureADSecret, ""},
		{"one short", "aB38Q~" + body[:30] + " x", TypeAzureADSecret, ""},
		{"one long", "aB38Q~" + body + "Z x", TypeAzureADSecret, ""},
		{"inside a word", "zaB38Q~" + body, TypeAzureADSecret, ""},
		{"dash before marker", "a-38Q~" + body, TypeAzureADSecret, ""},
		{"marker alone", "press Q~ to quit", TypeAzureADSecret, ""},
		{"marker at start", "Q~" + body, TypeAzureADSecret, ""},
	})
}
