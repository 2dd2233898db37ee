package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestRedactDSN(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc, in, want string
	}{
		{"empty", "", ""},
		{"url with password", "postgres://u:s3cret@db:5432/app?sslmode=require", "postgres://u:[REDACTED]@db:5432/app?sslmode=require"},
		{"url without password", "postgres://u@db/app", "postgres://u@db/app"},
		{"url with password parameter", "postgresql://db/app?user=u&password=s3cret", "postgresql://db/app?password=[REDACTED]&user=u"},
		{"keyword form", "host=db user=u password=s3cret dbname=app", "host=db user=u password=[REDACTED] dbname=app"},
		{"keyword quoted", `host=db password='s3 cr\'et' sslmode=require`, "host=db password=[REDACTED] sslmode=require"},
		{"keyword spaced", "host = db  password = s3cret", "host=db password=[REDACTED]"},
		{"unparseable keyword form", "host=db password='s3cret", "[REDACTED]"},
		{"not a DSN", "s3cret", "[REDACTED]"},
		{"bad url", "postgres://u:s3cret@db:port/app", "[REDACTED]"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			got := redactDSN(tt.in)
			if got != tt.want {
				t.Errorf("redactDSN(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if strings.Contains(got, "s3") {
				t.Errorf("redactDSN(%q) = %q still holds the password", tt.in, got)
			}
		})
	}
}

func TestRedactedLeavesOriginal(t *testing.T) {
	t.Parallel()
	c := validConfig()
	c.Admin.Token = "admin-token"
	c.Upstreams["deepseek"].APIKey = "sk-1"
	c.Upstreams["deepseek"].Headers = map[string]string{"X-K": "v", "X-Empty": ""}
	before := c.Clone()
	r := c.Redacted()
	if !reflect.DeepEqual(c, before) {
		t.Error("Redacted changed the original configuration")
	}
	if r.Admin.Token != RedactedText || r.Upstreams["deepseek"].APIKey != RedactedText || r.Upstreams["deepseek"].Headers["X-K"] != RedactedText {
		t.Errorf("secrets not redacted: %+v", r)
	}
	if r.Upstreams["deepseek"].Headers["X-Empty"] != "" || r.Upstreams["r1-local"].APIKey != "" {
		t.Error("an empty secret must stay empty so the dump shows it is unset")
	}
	if (*Config)(nil).Redacted() != nil {
		t.Error("nil config must redact to nil")
	}
}

// TestCloneSharesNothing walks the clone of a fully populated configuration
// and fails on any pointer, map or slice it shares with the original. It
// catches a new reference field added to types.go but not to Clone.
func TestCloneSharesNothing(t *testing.T) {
	t.Parallel()
	c := validConfig()
	c.SetDefaults()
	c.Listen.TLS = &ServerTLS{CertFile: "a", KeyFile: "b"}
	c.Admin.TLS = &ServerTLS{CertFile: "a", KeyFile: "b"}
	c.Upstreams["deepseek"].Headers = map[string]string{"X": "y"}
	c.Upstreams["deepseek"].TLS = &ClientTLS{CAFile: "ca"}
	assertNoSharing(t, "", reflect.ValueOf(c), reflect.ValueOf(c.Clone()))
}

func assertNoSharing(t *testing.T, path string, a, b reflect.Value) {
	t.Helper()
	switch a.Kind() {
	case reflect.Pointer:
		if a.IsNil() {
			return
		}
		if a.Pointer() == b.Pointer() {
			t.Errorf("%s: pointer shared by the clone", path)
			return
		}
		assertNoSharing(t, path, a.Elem(), b.Elem())
	case reflect.Map:
		if a.Len() > 0 && a.Pointer() == b.Pointer() {
			t.Errorf("%s: map shared by the clone", path)
		}
		for _, k := range a.MapKeys() {
			assertNoSharing(t, path+"."+k.String(), a.MapIndex(k), b.MapIndex(k))
		}
	case reflect.Slice:
		if a.Len() > 0 && a.Pointer() == b.Pointer() {
			t.Errorf("%s: slice shared by the clone", path)
		}
		for i := range a.Len() {
			assertNoSharing(t, path+"[]", a.Index(i), b.Index(i))
		}
	case reflect.Struct:
		for i := range a.NumField() {
			assertNoSharing(t, path+"."+a.Type().Field(i).Name, a.Field(i), b.Field(i))
		}
	}
}

func TestMarshalYAMLRedactedOfDemoParses(t *testing.T) {
	t.Parallel()
	out, err := Demo("data", "http://127.0.0.1:8000/v1").MarshalYAMLRedacted()
	if err != nil {
		t.Fatal(err)
	}
	c := mustParse(t, string(out))
	if c.Upstreams["r1-sim"].Flavor != "deepseek" || c.Routes[0].Name != "default" {
		t.Errorf("dump did not round-trip:\n%s", out)
	}
}
