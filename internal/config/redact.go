package config

import (
	"net/url"
	"strings"

	"gopkg.in/yaml.v3"
)

// RedactedText replaces every secret in a redacted configuration.
const RedactedText = "[REDACTED]"

// placeholder stands in for RedactedText inside URLs, whose encoder would
// percent-escape the brackets.
const placeholder = "rampart-redacted-7f3a"

// Redacted returns a deep copy of c with every secret replaced by
// "[REDACTED]": admin.token, the password in store.postgres (the whole DSN
// when it cannot be parsed), auth.static_keys[].key, auth.jwt[].hs_secret,
// auth.introspection.client_secret, upstreams.*.api_key,
// upstreams.*.headers values and any password in an upstream URL. File
// paths, such as TLS key files, are not secrets and are kept. Empty values
// stay empty so that a dump still shows what is unset. It serves the admin
// config view and `rampart check --print`.
func (c *Config) Redacted() *Config {
	out := c.Clone()
	if out == nil {
		return nil
	}
	out.Admin.Token = secret(out.Admin.Token)
	out.Store.Postgres = redactDSN(out.Store.Postgres)
	for i := range out.Auth.StaticKeys {
		out.Auth.StaticKeys[i].Key = secret(out.Auth.StaticKeys[i].Key)
	}
	for i := range out.Auth.JWT {
		out.Auth.JWT[i].HSSecret = secret(out.Auth.JWT[i].HSSecret)
	}
	if out.Auth.Introspection != nil {
		out.Auth.Introspection.ClientSecret = secret(out.Auth.Introspection.ClientSecret)
	}
	for _, u := range out.Upstreams {
		if u == nil {
			continue
		}
		u.APIKey = secret(u.APIKey)
		u.URL = redactURL(u.URL)
		for h, v := range u.Headers {
			u.Headers[h] = secret(v)
		}
	}
	for i := range out.Guards.External {
		out.Guards.External[i].APIKey = secret(out.Guards.External[i].APIKey)
		out.Guards.External[i].URL = redactURL(out.Guards.External[i].URL)
	}
	out.DLP.HashKey = secret(out.DLP.HashKey)
	out.Limits.RedisURL = redactURL(out.Limits.RedisURL)
	for h, v := range out.Telemetry.Traces.Headers {
		out.Telemetry.Traces.Headers[h] = secret(v)
	}
	for i := range out.Alerts.Sinks {
		s := &out.Alerts.Sinks[i]
		// A webhook URL carries its token (Slack's in the path).
		s.URL = secret(s.URL)
		for h, v := range s.Headers {
			s.Headers[h] = secret(v)
		}
	}
	return out
}

// MarshalYAMLRedacted renders the redacted configuration as YAML.
func (c *Config) MarshalYAMLRedacted() ([]byte, error) {
	return yaml.Marshal(c.Redacted())
}

// secret hides a non-empty value.
func secret(v string) string {
	if v == "" {
		return ""
	}
	return RedactedText
}

// redactURL hides the password of a URL and any password in its query. A
// URL that does not parse is hidden whole, since it cannot be inspected.
func redactURL(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return RedactedText
	}
	changed := false
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), placeholder)
		changed = true
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			if isPasswordKey(k) {
				q[k] = []string{placeholder}
				changed = true
			}
		}
		if changed {
			u.RawQuery = q.Encode()
		}
	}
	if !changed {
		return raw
	}
	return strings.ReplaceAll(u.String(), placeholder, RedactedText)
}

// isPasswordKey reports whether a DSN parameter holds a password.
func isPasswordKey(k string) bool {
	k = strings.ToLower(k)
	return k == "password" || k == "sslpassword" || k == "pass" || k == "pwd"
}

// redactDSN hides the password of a PostgreSQL DSN, in URL form
// (postgres://user:pass@host/db) or keyword form (host=h password=p).
func redactDSN(dsn string) string {
	if dsn == "" {
		return ""
	}
	if strings.Contains(dsn, "://") {
		return redactURL(dsn)
	}
	out, ok := redactKeywordDSN(dsn)
	if !ok {
		return RedactedText
	}
	return out
}

// redactKeywordDSN rewrites "k=v k='quoted v'" pairs with password values
// hidden. It reports false when dsn is not in that form.
func redactKeywordDSN(dsn string) (string, bool) {
	var b strings.Builder
	s := strings.TrimSpace(dsn)
	for s != "" {
		eq := strings.IndexByte(s, '=')
		if eq <= 0 {
			return "", false
		}
		key := strings.TrimSpace(s[:eq])
		if key == "" || strings.ContainsAny(key, " \t'\\") {
			return "", false
		}
		val, rest, ok := cutDSNValue(strings.TrimLeft(s[eq+1:], " \t"))
		if !ok {
			return "", false
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(key)
		b.WriteByte('=')
		if isPasswordKey(key) {
			val = RedactedText
		}
		b.WriteString(val)
		s = strings.TrimLeft(rest, " \t")
	}
	return b.String(), true
}

// cutDSNValue splits off one value, quoted or bare, keeping its quoting.
func cutDSNValue(s string) (val, rest string, ok bool) {
	if !strings.HasPrefix(s, "'") {
		end := strings.IndexAny(s, " \t")
		if end < 0 {
			return s, "", true
		}
		return s[:end], s[end:], true
	}
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '\'':
			return s[:i+1], s[i+1:], true
		}
	}
	return "", "", false
}
