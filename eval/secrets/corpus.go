package main

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"strings"
)

// sample is one labelled text. A positive sample holds exactly one secret at
// text[start:end]; a negative sample (start == end) holds none.
type sample struct {
	group      string // provider format, or the kind of negative
	positive   bool
	text       string
	start, end int
}

const (
	upper    = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	lower    = "abcdefghijklmnopqrstuvwxyz"
	digits   = "0123456789"
	alnum    = upper + lower + digits
	hexLower = "0123456789abcdef"
	base32   = upper + "234567"
	b64url   = alnum + "-_"
	b64std   = alnum + "+/"
	passChar = alnum + "!*_-.~"
)

// gen draws random strings from a seeded source, so the corpus is the same
// on every run.
type gen struct{ r *rand.Rand }

func (g gen) str(alphabet string, n int) string {
	var b strings.Builder
	for range n {
		b.WriteByte(alphabet[g.r.IntN(len(alphabet))])
	}
	return b.String()
}

func (g gen) between(lo, hi int) int { return lo + g.r.IntN(hi-lo+1) }

func (g gen) pick(xs ...string) string { return xs[g.r.IntN(len(xs))] }

func (g gen) choose(ns ...int) int { return ns[g.r.IntN(len(ns))] }

// provider is a credential format with the contexts it is pasted in. Each
// template holds one "{}" where the secret goes.
type provider struct {
	name      string
	secret    func(g gen) string
	templates []string
}

// keyworded formats have no prefix of their own; they are not put into the
// shared prose, where nothing would say what they are.
var keyworded = map[string]bool{
	"AWS secret access key": true, "Azure storage key": true, "password in URL": true,
	"password in connection string": true, "generic key near keyword": true,
}

// prose are chat-style contexts shared by every provider: a user pasting a
// key into a question is what a gateway sees most.
var prose = []string{
	"Here is my key {} - why does the API return 401?",
	"I keep getting 'invalid credentials' even though I set it to {} in my .env file. Any idea?",
	"Can you check this config for me? The value is {}\nThanks!",
	"debug log: request failed, credential={} status=403",
}

func pemBlock(g gen, label, lead string, lines int, sep string) string {
	var b strings.Builder
	b.WriteString("-----BEGIN " + label + "-----" + sep)
	body := lead + g.str(b64std, lines*64-len(lead))
	for i := 0; i < len(body); i += 64 {
		b.WriteString(body[i:min(i+64, len(body))] + sep)
	}
	b.WriteString(g.str(b64std, 20) + "==" + sep)
	b.WriteString("-----END " + label + "-----")
	return b.String()
}

func jwt(g gen) string {
	hdr := g.pick(`{"alg":"HS256","typ":"JWT"}`, `{"alg":"RS256","typ":"JWT","kid":"`+g.str(hexLower, 16)+`"}`)
	body := fmt.Sprintf(`{"sub":"%d","name":"%s","iat":%d,"exp":%d}`, g.between(1000, 999999),
		g.pick("John Doe", "Ana Silva", "service-account", "ops-bot"), 1700000000+g.between(0, 9999999), 1800000000+g.between(0, 9999999))
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(hdr)) + "." + enc.EncodeToString([]byte(body)) + "." + g.str(b64url, g.choose(43, 86))
}

var providers = []provider{
	{"AWS access key ID", func(g gen) string { return g.pick("AKIA", "ASIA") + g.str(base32, 16) }, []string{
		"aws_access_key_id = {}", "export AWS_ACCESS_KEY_ID={}", `"AccessKeyId": "{}",`,
		`s3 = boto3.client("s3", aws_access_key_id="{}")`, "My access key is {} and it stopped working after rotation."}},
	{"AWS secret access key", func(g gen) string { return g.str(b64std, 40) }, []string{
		"aws_secret_access_key = {}", "export AWS_SECRET_ACCESS_KEY={}", `"SecretAccessKey": "{}",`,
		`s3 = boto3.client("s3", aws_secret_access_key="{}")`, "AWS_SECRET_ACCESS_KEY: {}",
		"My AWS secret access key is {} - is it still valid?"}},
	{"GCP API key", func(g gen) string { return "AIza" + g.str(b64url, 35) }, []string{
		"GOOGLE_API_KEY={}", "https://maps.googleapis.com/maps/api/geocode/json?address=Paris&key={}",
		`genai.configure(api_key="{}")`, `const firebaseConfig = { apiKey: "{}", authDomain: "demo.firebaseapp.com" };`}},
	{"GCP service-account private key", func(g gen) string {
		return pemBlock(g, "PRIVATE KEY", "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQ", 25, `\n`)
	}, []string{
		"{\n  \"type\": \"service_account\",\n  \"project_id\": \"demo-123\",\n  \"private_key_id\": \"4f2c\",\n  \"private_key\": \"{}\\n\",\n  \"client_email\": \"svc@demo-123.iam.gserviceaccount.com\"\n}",
		"Why does auth fail with this credentials.json? \"private_key\": \"{}\\n\", \"client_id\": \"1043\"",
	}},
	{"Azure storage key", func(g gen) string { return g.str(b64std, 86) + "==" }, []string{
		"DefaultEndpointsProtocol=https;AccountName=acmeprod;AccountKey={};EndpointSuffix=core.windows.net",
		`"StorageConnection": "DefaultEndpointsProtocol=https;AccountName=logs01;AccountKey={};EndpointSuffix=core.windows.net"`,
		"AZURE_STORAGE_KEY={}", "az storage blob list --account-name acmeprod --account-key {} -c backups",
		"The storage account key is {}, can you write the upload code?"}},
	{"Azure AD client secret", func(g gen) string { return g.str(alnum, 3) + g.str(digits, 1) + "Q~" + g.str(alnum+"_~.-", 34) }, []string{
		"AZURE_CLIENT_SECRET={}", `"clientSecret": "{}",`, `cred = ClientSecretCredential(tenant_id, client_id, "{}")`}},
	{"GitHub classic token", func(g gen) string { return "ghp_" + g.str(alnum, 36) }, []string{
		"GITHUB_TOKEN={}", "git clone https://{}@github.com/acme/infra.git", `curl -H "Authorization: token {}" https://api.github.com/user`,
		"token: {}"}},
	{"GitHub fine-grained token", func(g gen) string { return "github_pat_" + g.str(alnum, 22) + "_" + g.str(alnum, 59) }, []string{
		"GH_TOKEN={}", `gh = Github("{}")`, `curl -H "Authorization: Bearer {}" https://api.github.com/repos/acme/app`}},
	{"GitHub app/OAuth token", func(g gen) string { return g.pick("ghs_", "ghu_", "gho_") + g.str(alnum, 36) }, []string{
		"installation token: {}", `headers = {"Authorization": "token {}"}`, "GITHUB_APP_TOKEN={}"}},
	{"GitLab PAT", func(g gen) string { return "glpat-" + g.str(b64url, 20) }, []string{
		"GITLAB_TOKEN={}", `curl --header "PRIVATE-TOKEN: {}" https://gitlab.example.com/api/v4/projects`,
		"git remote set-url origin https://oauth2:{}@gitlab.com/acme/app.git"}},
	{"Slack bot token", func(g gen) string {
		return "xoxb-" + g.str(digits, g.between(10, 13)) + "-" + g.str(digits, g.between(10, 13)) + "-" + g.str(alnum, 24)
	}, []string{"SLACK_BOT_TOKEN={}", `client = WebClient(token="{}")`, "slack:\n  bot_token: {}"}},
	{"Slack user token", func(g gen) string {
		return "xoxp-" + g.str(digits, 11) + "-" + g.str(digits, 11) + "-" + g.str(digits, 13) + "-" + g.str(hexLower, 32)
	}, []string{"SLACK_USER_TOKEN={}", `curl -H "Authorization: Bearer {}" https://slack.com/api/users.list`}},
	{"Slack webhook", func(g gen) string {
		return "https://hooks.slack.com/services/T" + g.str(upper+digits, 8) + "/B" + g.str(upper+digits, g.between(8, 10)) + "/" + g.str(alnum, 24)
	}, []string{"SLACK_WEBHOOK_URL={}", `requests.post("{}", json={"text": "deploy done"})`, "webhook: {}"}},
	{"Stripe live secret key", func(g gen) string { return "sk_live_" + g.str(alnum, g.choose(24, 99)) }, []string{
		"STRIPE_SECRET_KEY={}", `stripe.api_key = "{}"`, `const stripe = require('stripe')('{}');`}},
	{"Stripe test key", func(g gen) string { return "sk_test_" + g.str(alnum, 24) }, []string{
		"STRIPE_SECRET_KEY={}", `stripe.api_key = "{}"`}},
	{"Stripe restricted key", func(g gen) string { return "rk_live_" + g.str(alnum, 24) }, []string{
		"STRIPE_RESTRICTED_KEY={}", `Stripe.apiKey = "{}";`}},
	{"OpenAI project key", func(g gen) string {
		return g.pick("sk-proj-", "sk-svcacct-") + g.str(b64url, 74) + "T3BlbkFJ" + g.str(b64url, 74)
	}, []string{"OPENAI_API_KEY={}", `client = OpenAI(api_key="{}")`, `curl https://api.openai.com/v1/models -H "Authorization: Bearer {}"`}},
	{"OpenAI legacy key", func(g gen) string { return "sk-" + g.str(alnum, 20) + "T3BlbkFJ" + g.str(alnum, 20) }, []string{
		"OPENAI_API_KEY={}", `openai.api_key = "{}"`}},
	{"Anthropic key", func(g gen) string { return "sk-ant-api03-" + g.str(b64url, 93) + "AA" }, []string{
		"ANTHROPIC_API_KEY={}", `client = anthropic.Anthropic(api_key="{}")`, `curl https://api.anthropic.com/v1/messages -H "x-api-key: {}"`}},
	{"Hugging Face token", func(g gen) string { return "hf_" + g.str(upper+lower, 34) }, []string{
		"HF_TOKEN={}", `login(token="{}")`, "huggingface-cli login --token {}"}},
	{"DeepSeek key", func(g gen) string { return "sk-" + g.str(hexLower, 32) }, []string{
		"DEEPSEEK_API_KEY={}", `client = OpenAI(api_key="{}", base_url="https://api.deepseek.com")`,
		`curl https://api.deepseek.com/chat/completions -H "Authorization: Bearer {}"`}},
	{"npm token", func(g gen) string { return "npm_" + g.str(alnum, 36) }, []string{
		"//registry.npmjs.org/:_authToken={}", "NPM_TOKEN={}"}},
	{"PyPI token", func(g gen) string { return "pypi-AgEIcHlwaS5vcmc" + g.str(b64url, g.between(60, 160)) }, []string{
		"[pypi]\n  username = __token__\n  password = {}", "TWINE_PASSWORD={}", "twine upload -u __token__ -p {} dist/*"}},
	{"Twilio API key", func(g gen) string { return "SK" + g.str(hexLower, 32) }, []string{
		"TWILIO_API_KEY={}", `client = Client("{}", api_secret, account_sid)`}},
	{"SendGrid key", func(g gen) string { return "SG." + g.str(b64url, 22) + "." + g.str(b64url, 43) }, []string{
		"SENDGRID_API_KEY={}", `sg = sendgrid.SendGridAPIClient(api_key="{}")`}},
	{"JWT", jwt, []string{
		"Authorization: Bearer {}", `curl -H "Authorization: Bearer {}" https://api.example.com/v1/me`,
		"Cookie: session={}; Path=/", "This token {} expires too early, how do I decode it?"}},
	{"PEM private key", func(g gen) string {
		switch g.r.IntN(3) {
		case 0:
			return pemBlock(g, "RSA PRIVATE KEY", "MIIEowIBAAKCAQEA", 25, "\n")
		case 1:
			return pemBlock(g, "EC PRIVATE KEY", "MHcCAQEEI", 3, "\n")
		}
		return pemBlock(g, "OPENSSH PRIVATE KEY", "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW", 6, "\n")
	}, []string{"Here is my key:\n{}\nssh says 'invalid format', why?", "{}\n", "key.pem contents:\n```\n{}\n```"}},
	{"password in URL", func(g gen) string { return g.str(passChar, g.between(10, 18)) }, []string{
		"DATABASE_URL=postgres://app:{}@db.internal:5432/orders", `client = MongoClient("mongodb+srv://admin:{}@cluster0.abcde.mongodb.net/test")`,
		"redis://default:{}@cache.internal:6379/0", "I can't connect with mysql://root:{}@10.0.0.5:3306/shop - access denied",
		"amqp://worker:{}@rabbit:5672/"}},
	{"password in connection string", func(g gen) string { return g.str(alnum+"!*_-", g.between(10, 18)) }, []string{
		"Server=tcp:sql-prod.database.windows.net,1433;Database=app;User ID=app;Password={};Encrypt=True;",
		"jdbc:postgresql://db:5432/app?user=app&password={}&ssl=true", "spring.datasource.password={}",
		`DB_PASSWORD="{}"`, "db:\n  user: app\n  password: {}", "The database password is {} but login fails."}},
	{"generic key near keyword", func(g gen) string { return g.str(g.pick(alnum, hexLower, b64url), g.between(24, 48)) }, []string{
		`api_key = "{}"`, "X-API-Key: {}", `"client_secret": "{}",`, "SECRET_KEY = '{}'", "auth_token: {}",
		"export PAYMENTS_API_TOKEN={}", "my api key is {} but the server says unauthorized"}},
}

// negative is a kind of text that holds no secret but looks like one.
type negative struct {
	name string
	text func(g gen) string
}

var words = strings.Fields(`the a report quarterly revenue meeting schedule please review attached draft customer
order shipping delay budget plan team lunch project update summary translate into french explain why sky blue
recipe pasta garden weather weekend flight hotel booking invoice contract deadline migration database index
query latency cache cluster release notes version feature request bug fix review comment merge branch`)

func sentence(g gen, n int) string {
	ws := make([]string, n)
	for i := range ws {
		ws[i] = g.pick(words...)
	}
	return strings.Join(ws, " ")
}

func uuid(g gen) string {
	h := g.str(hexLower, 32)
	return h[:8] + "-" + h[8:12] + "-4" + h[13:16] + "-a" + h[17:20] + "-" + h[20:]
}

var negatives = []negative{
	{"UUIDs", func(g gen) string {
		u := uuid(g)
		return g.pick("request id "+u+" failed after 3 retries", `"id": "`+u+`",`, "trace_id="+u+" span=42", "Order "+u+" has not shipped yet.")
	}},
	{"lockfile hashes", func(g gen) string {
		switch g.r.IntN(5) {
		case 0:
			return `      "integrity": "sha512-` + g.str(b64std, 86) + `==",`
		case 1:
			return "golang.org/x/net v0.23.0 h1:" + g.str(b64std, 43) + "="
		case 2:
			return `      "hash": "sha256:` + g.str(hexLower, 64) + `"`
		case 3:
			return `checksum = "` + g.str(hexLower, 64) + `"`
		}
		return `  resolved "https://registry.yarnpkg.com/lodash/-/lodash-4.17.21.tgz#` + g.str(hexLower, 40) + `"`
	}},
	{"base64 images", func(g gen) string {
		img := "iVBORw0KGgoAAAANSUhEUgAAA" + g.str(b64std, g.between(200, 600)) + "=="
		return g.pick(`<img src="data:image/png;base64,`+img+`" alt="logo">`, `background: url(data:image/png;base64,`+img+`);`,
			"Why does this image not render? data:image/png;base64,"+img)
	}},
	{"example placeholders", func(g gen) string {
		return g.pick("aws_access_key_id = AKIAIOSFODNN7EXAMPLE", "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
			`OPENAI_API_KEY="sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"`, "GITHUB_TOKEN=ghp_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
			`api_key = "your-api-key-here"`, "OPENAI_API_KEY=<your key>", "password: changeme", `api_key = "${API_KEY}"`,
			"export STRIPE_SECRET_KEY=sk_live_...", "Authorization: Bearer <token>", "DATABASE_URL=postgres://user:password@localhost:5432/db",
			`token = os.environ["GITHUB_TOKEN"]`)
	}},
	{"commit SHAs", func(g gen) string {
		sha := g.str(hexLower, 40)
		return g.pick("The regression was introduced in commit "+sha+", can you explain the diff?", "git checkout "+sha,
			`"sha": "`+sha+`",`, "Merge: "+sha[:7]+" "+g.str(hexLower, 7), "image: ghcr.io/acme/api@sha256:"+g.str(hexLower, 64))
	}},
	{"random words", func(g gen) string { return sentence(g, g.between(8, 30)) + "." }},
	{"identifiers and paths", func(g gen) string {
		return g.pick("getUserAccountSettingsForOrganizationAndRegion(ctx, orgID)", "/usr/local/lib/python3.11/site-packages/transformers/models/auto/modeling_auto.py",
			"pod api-7d9f8b6c5d-x2x9k restarted", "color: #"+g.str(hexLower, 6)+";", "version: 1."+g.str(digits, 2)+"."+g.str(digits, 1),
			"token_count: "+g.str(digits, 4), "the password field must be at least 12 characters", "Use the secret manager, never hard-code the API key.",
			"GitHub tokens start with ghp_ and AWS access keys with AKIA.")
	}},
}

// corpus generates the labelled synthetic set: perProvider positives of each
// format in ps and perNegative texts of each negative kind, from a fixed
// seed.
func corpus(seed uint64, ps []provider, perProvider, perNegative int) []sample {
	g := gen{rand.New(rand.NewPCG(seed, seed^0x5eed))}
	var out []sample
	for _, p := range ps {
		for i := range perProvider {
			var tmpl string
			if i%4 == 3 && !keyworded[p.name] {
				tmpl = prose[g.r.IntN(len(prose))]
			} else {
				tmpl = p.templates[g.r.IntN(len(p.templates))]
			}
			sec := p.secret(g)
			k := strings.Index(tmpl, "{}")
			out = append(out, sample{group: p.name, positive: true, text: tmpl[:k] + sec + tmpl[k+2:], start: k, end: k + len(sec)})
		}
	}
	for _, n := range negatives {
		for range perNegative {
			out = append(out, sample{group: n.name, text: n.text(g)})
		}
	}
	return out
}
