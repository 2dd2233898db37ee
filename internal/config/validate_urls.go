package config

import (
	"errors"
	"net/url"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/rampart-gw/rampart/internal/urlsafe"
)

// The URLs checked here may hold a password. url.Parse errors quote the raw
// URL, and some quote a part of it (the "port" of "redis://:pw/x@host"), so
// they are never wrapped or shown: a message says what is wrong in fixed
// words and shows the URL, if at all, in redacted form.

// checkRedisURL checks limits.redis_url as go-redis reads it: a redis://,
// rediss:// or unix:// URL.
func checkRedisURL(errs *Errors, p, raw string) {
	const want = "want redis://[USER:PASSWORD@]HOST[:PORT][/DB], rediss://... (TLS) or unix://[USER:PASSWORD@]/PATH"
	u, err := url.Parse(raw)
	if err != nil {
		errs.add(p, 0, urlsafe.ParseProblem(err)+"; "+want)
		return
	}
	switch u.Scheme {
	case "redis", "rediss", "unix":
	default:
		errs.add(p, 0, "unsupported scheme "+strconv.Quote(u.Scheme)+"; "+want)
		return
	}
	if u.Opaque != "" {
		errs.add(p, 0, "missing \"//\" after the scheme; "+want)
		return
	}
	if _, err := redis.ParseURL(raw); err != nil {
		// The URL parsed, so go-redis quotes only the scheme, the path or
		// query options; the password is hidden should it appear anyway.
		msg := strings.TrimPrefix(err.Error(), "redis: ")
		errs.add(p, 0, hideURLSecrets(msg, u)+"; "+want)
	}
}

// checkGuardURL checks guards.external[].url: an absolute http or https URL
// with a host.
func checkGuardURL(errs *Errors, p, raw string) {
	const want = "want an absolute http or https URL such as https://guard.internal/check"
	u, err := url.Parse(raw)
	if err != nil {
		errs.add(p, 0, urlsafe.ParseProblem(err)+"; "+want)
		return
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" {
		errs.add(p, 0, "invalid URL "+strconv.Quote(redactURL(raw))+"; "+want)
	}
}

// hideURLSecrets replaces in msg the raw user information and the password
// of u, and any password in its query, by [REDACTED].
func hideURLSecrets(msg string, u *url.URL) string {
	if u == nil {
		return msg
	}
	var olds []string
	if u.User != nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			olds = append(olds, u.User.String(), pw, url.QueryEscape(pw), url.PathEscape(pw))
		}
	}
	for k, vs := range u.Query() {
		if isPasswordKey(k) {
			for _, v := range vs {
				if v != "" {
					olds = append(olds, v, url.QueryEscape(v))
				}
			}
		}
	}
	for _, o := range olds {
		if o != "" {
			msg = strings.ReplaceAll(msg, o, RedactedText)
		}
	}
	return msg
}

// URLError returns an error for err, a failure to use the configured URL
// raw, that holds nothing of raw that may be a secret: when raw does not
// parse, only the problem is named, in fixed words; otherwise the message
// has raw in redacted form and the URL's password and query passwords
// hidden. It is for errors made at run time, so that they stay safe even if
// Validate, which refuses such URLs, was bypassed.
func URLError(raw string, err error) error {
	if err == nil {
		return nil
	}
	u, perr := url.Parse(raw)
	if perr != nil {
		return errors.New(urlsafe.ParseProblem(perr))
	}
	msg := strings.ReplaceAll(err.Error(), raw, redactURL(raw))
	return errors.New(hideURLSecrets(msg, u))
}
