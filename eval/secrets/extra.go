package main

// extraProviders are credential formats with a fixed prefix or marker that
// gitleaks' rule set knows and Rampart's did not when this comparison was
// first run. They are measured apart from the formats both engines claim, so
// that the first table compares like with like and this one shows the gap.
var extraProviders = []provider{
	fixed("Perplexity API key", "PERPLEXITY_API_KEY", func(g gen) string { return "pplx-" + g.str(alnum, 48) }),
	fixed("AWS Bedrock API key", "AWS_BEARER_TOKEN_BEDROCK", func(g gen) string { return "ABSK" + g.str(b64std, 132) }),
	fixed("HashiCorp Vault token", "VAULT_TOKEN", func(g gen) string { return "hvs." + g.str(b64url, g.between(90, 120)) }),
	fixed("Grafana Cloud token", "GRAFANA_CLOUD_TOKEN", func(g gen) string { return "glc_" + g.str(alnum, g.between(60, 120)) }),
	fixed("Grafana service-account token", "GRAFANA_TOKEN", func(g gen) string { return "glsa_" + g.str(alnum, 32) + "_" + g.str(hexLower, 8) }),
	fixed("Doppler token", "DOPPLER_TOKEN", func(g gen) string { return "dp.pt." + g.str(alnum, 43) }),
	fixed("1Password service-account token", "OP_SERVICE_ACCOUNT_TOKEN", func(g gen) string { return "ops_eyJ" + g.str(alnum, g.between(260, 400)) }),
	fixed("Pulumi token", "PULUMI_ACCESS_TOKEN", func(g gen) string { return "pul-" + g.str(hexLower, 40) }),
	fixed("Postman API key", "POSTMAN_API_KEY", func(g gen) string { return "PMAK-" + g.str(hexLower, 24) + "-" + g.str(hexLower, 34) }),
	fixed("Sentry user token", "SENTRY_AUTH_TOKEN", func(g gen) string { return "sntryu_" + g.str(hexLower, 64) }),
	fixed("Heroku API key", "HEROKU_API_KEY", func(g gen) string { return "HRKU-AA" + g.str(b64url, 58) }),
	fixed("Fly.io token", "FLY_API_TOKEN", func(g gen) string { return "fo1_" + g.str(b64url, 43) }),
	fixed("Notion token", "NOTION_TOKEN", func(g gen) string { return "ntn_" + g.str(digits, 11) + g.str(alnum, 35) }),
	fixed("Prefect API key", "PREFECT_API_KEY", func(g gen) string { return "pnu_" + g.str(alnum, 36) }),
	fixed("ReadMe API key", "README_API_KEY", func(g gen) string { return "rdme_" + g.str(lower+digits, 70) }),
	fixed("RubyGems API key", "GEM_HOST_API_KEY", func(g gen) string { return "rubygems_" + g.str(hexLower, 48) }),
	fixed("Shopify app token", "SHOPIFY_ACCESS_TOKEN", func(g gen) string { return g.pick("shpca_", "shppa_") + g.str(hexLower, 32) }),
	fixed("GitLab other tokens", "GITLAB_TOKEN", func(g gen) string {
		switch g.r.IntN(6) {
		case 0:
			return "glft-" + g.str(b64url, 20)
		case 1:
			return "glsoat-" + g.str(b64url, 20)
		case 2:
			return "glffct-" + g.str(b64url, 20)
		case 3:
			return "glimt-" + g.str(b64url, 25)
		case 4:
			return "glagent-" + g.str(b64url, 50)
		}
		return "gloas-" + g.str(b64url, 64)
	}),
	fixed("DigitalOcean OAuth token", "DIGITALOCEAN_TOKEN", func(g gen) string { return g.pick("doo_v1_", "dor_v1_") + g.str(hexLower, 64) }),
	fixed("age secret key", "SOPS_AGE_KEY", func(g gen) string { return "AGE-SECRET-KEY-1" + g.str("QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L", 58) }),
	fixed("PlanetScale token", "PLANETSCALE_SERVICE_TOKEN", func(g gen) string {
		return g.pick("pscale_tkn_", "pscale_oauth_", "pscale_pw_") + g.str(b64url, 43)
	}),
	fixed("Brevo (Sendinblue) key", "BREVO_API_KEY", func(g gen) string { return "xkeysib-" + g.str(hexLower, 64) + "-" + g.str(alnum, 16) }),
	fixed("Alibaba access key ID", "ALIBABA_CLOUD_ACCESS_KEY_ID", func(g gen) string { return "LTAI" + g.str(alnum, 20) }),
	fixed("Artifactory API key", "ARTIFACTORY_API_KEY", func(g gen) string { return "AKCp" + g.str(alnum, 69) }),
	fixed("New Relic user key", "NEW_RELIC_API_KEY", func(g gen) string { return "NRAK-" + g.str(upper+digits, 27) }),
	fixed("Dynatrace token", "DT_API_TOKEN", func(g gen) string { return "dt0c01." + g.str(upper+digits, 24) + "." + g.str(upper+digits, 64) }),
	fixed("Linear API key", "LINEAR_API_KEY", func(g gen) string { return "lin_api_" + g.str(alnum, 40) }),
	fixed("EasyPost API key", "EASYPOST_API_KEY", func(g gen) string { return g.pick("EZAK", "EZTK") + g.str(alnum, 54) }),
	fixed("Duffel token", "DUFFEL_ACCESS_TOKEN", func(g gen) string { return g.pick("duffel_live_", "duffel_test_") + g.str(b64url, 43) }),
	fixed("Frame.io token", "FRAMEIO_TOKEN", func(g gen) string { return "fio-u-" + g.str(b64url, 64) }),
	fixed("Clojars token", "CLOJARS_TOKEN", func(g gen) string { return "CLOJARS_" + g.str(lower+digits, 60) }),
	fixed("Shippo token", "SHIPPO_API_KEY", func(g gen) string { return g.pick("shippo_live_", "shippo_test_") + g.str(hexLower, 40) }),
	fixed("Infracost key", "INFRACOST_API_KEY", func(g gen) string { return "ico-" + g.str(alnum, 32) }),
	fixed("Sourcegraph token", "SRC_ACCESS_TOKEN", func(g gen) string { return "sgp_" + g.str(hexLower, 16) + "_" + g.str(hexLower, 40) }),
	fixed("Cloudflare Origin CA key", "CF_ORIGIN_CA_KEY", func(g gen) string { return "v1.0-" + g.str(hexLower, 24) + "-" + g.str(hexLower, 146) }),
	fixed("Scalingo token", "SCALINGO_API_TOKEN", func(g gen) string { return "tk-us-" + g.str(b64url, 48) }),
	fixed("Octopus Deploy key", "OCTOPUS_API_KEY", func(g gen) string { return "API-" + g.str(upper+digits, 26) }),
	fixed("OpenShift token", "OPENSHIFT_TOKEN", func(g gen) string { return "sha256~" + g.str(b64url, 43) }),
	fixed("Square access token", "SQUARE_ACCESS_TOKEN", func(g gen) string { return "sq0atp-" + g.str(b64url, 22) }),
	fixed("Flutterwave secret key", "FLW_SECRET_KEY", func(g gen) string { return "FLWSECK_TEST-" + g.str(hexLower, 32) + "-X" }),
}

// fixed builds a provider for a self-identifying format, pasted as an
// environment variable, in code, in JSON or in the shared prose.
func fixed(name, env string, secret func(g gen) string) provider {
	return provider{name, secret, []string{env + "={}", "export " + env + `="{}"`, `"` + env + `": "{}",`, `token = "{}"`}}
}
