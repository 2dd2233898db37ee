// Package helm_test checks the Helm chart in deploy/helm/rampart with the
// helm command: it lints, it renders with default and non-default values,
// it refuses the settings it documents as refused, and the configuration it
// renders is one the gateway accepts.
package helm_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/rampart-gw/rampart/internal/config"
)

// helmEnv names the helm binary to test with. When it is set the binary
// must work; when it is not, helm is looked up in PATH, and the tests skip
// without it.
const helmEnv = "RAMPART_TEST_HELM"

func helmBin(t *testing.T) string {
	t.Helper()
	if p := os.Getenv(helmEnv); p != "" {
		if _, err := exec.LookPath(p); err != nil {
			t.Fatalf("%s=%s: %v", helmEnv, p, err)
		}
		return p
	}
	p, err := exec.LookPath("helm")
	if err != nil {
		t.Skipf("helm is not installed; set %s to run the chart tests", helmEnv)
	}
	return p
}

const chart = "rampart"

// helm runs the helm binary with args in this folder and returns its
// standard output, or its error with standard error.
func helm(t *testing.T, bin string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), bin, args...)
	home := t.TempDir()
	// No repositories, caches or plugins of the machine's user.
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"), "HELM_DATA_HOME="+filepath.Join(home, "data"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), errors.New(strings.TrimSpace(stderr.String() + "\n" + err.Error()))
	}
	return stdout.String(), nil
}

// object is one rendered Kubernetes object.
type object map[string]any

func (o object) kind() string { s, _ := o["kind"].(string); return s }

// get walks a path of map keys and list indexes (as ints) into o.
func (o object) get(path ...any) any {
	var v any = map[string]any(o)
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func render(t *testing.T, bin string, values ...string) ([]object, error) {
	t.Helper()
	args := []string{"template", "rel", chart, "--namespace", "ns"}
	for _, v := range values {
		args = append(args, "--set", v)
	}
	out, err := helm(t, bin, args...)
	if err != nil {
		return nil, err
	}
	var objs []object
	dec := yaml.NewDecoder(strings.NewReader(out))
	for {
		// Into a plain map: decoding into object would make every nested
		// mapping an object too.
		var o map[string]any
		err := dec.Decode(&o)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("rendered YAML does not decode: %v", err)
		}
		if o != nil {
			objs = append(objs, object(o))
		}
	}
	return objs, nil
}

func find(t *testing.T, objs []object, kind string) object {
	t.Helper()
	for _, o := range objs {
		if o.kind() == kind {
			return o
		}
	}
	t.Fatalf("no %s rendered", kind)
	return nil
}

func has(objs []object, kind string) bool {
	for _, o := range objs {
		if o.kind() == kind {
			return true
		}
	}
	return false
}

// checkConfig parses the rendered rampart.yaml as the gateway does at
// start-up, with the variables it references set.
func checkConfig(t *testing.T, objs []object) *config.Config {
	t.Helper()
	data, _ := find(t, objs, "ConfigMap").get("data", "rampart.yaml").(string)
	if data == "" {
		t.Fatal("the ConfigMap holds no rampart.yaml")
	}
	env := func(name string) (string, bool) {
		return name + "-value-long-enough-for-any-key-check", true
	}
	cfg, err := config.Parse([]byte(data), "rampart.yaml", env)
	if err != nil {
		t.Fatalf("the gateway refuses the chart's configuration:\n%s\n%s", config.FormatErrors(err), data)
	}
	return cfg
}

func TestChartLints(t *testing.T) {
	t.Parallel()
	bin := helmBin(t)
	if out, err := helm(t, bin, "lint", "--strict", chart); err != nil {
		t.Fatalf("helm lint --strict: %v\n%s", err, out)
	}
}

func TestChartRenders(t *testing.T) {
	t.Parallel()
	bin := helmBin(t)
	tests := []struct {
		desc   string
		values []string
		check  func(t *testing.T, objs []object)
	}{
		{"defaults", nil, func(t *testing.T, objs []object) {
			cfg := checkConfig(t, objs)
			if cfg.Listen.Addr != "0.0.0.0:8080" || cfg.Admin.Addr != "0.0.0.0:9090" || cfg.Admin.Token == "" {
				t.Errorf("listen %q, admin %q, admin token set %v", cfg.Listen.Addr, cfg.Admin.Addr, cfg.Admin.Token != "")
			}
			d := find(t, objs, "Deployment")
			pod := d.get("spec", "template", "spec")
			c := object(d.get("spec", "template", "spec", "containers", 0).(map[string]any))
			for _, tc := range []struct {
				path []any
				want any
			}{
				{[]any{"securityContext", "readOnlyRootFilesystem"}, true},
				{[]any{"securityContext", "allowPrivilegeEscalation"}, false},
				{[]any{"securityContext", "privileged"}, false},
				{[]any{"securityContext", "capabilities", "drop", 0}, "ALL"},
				{[]any{"readinessProbe", "httpGet", "path"}, "/readyz"},
				{[]any{"livenessProbe", "httpGet", "path"}, "/healthz"},
				{[]any{"readinessProbe", "httpGet", "scheme"}, "HTTP"},
			} {
				if got := c.get(tc.path...); got != tc.want {
					t.Errorf("container %v = %v, want %v", tc.path, got, tc.want)
				}
			}
			ps := object(pod.(map[string]any))
			if ps.get("securityContext", "runAsNonRoot") != true || ps.get("automountServiceAccountToken") != false {
				t.Errorf("pod security: runAsNonRoot %v, automountServiceAccountToken %v",
					ps.get("securityContext", "runAsNonRoot"), ps.get("automountServiceAccountToken"))
			}
			if d.get("spec", "strategy", "rollingUpdate", "maxUnavailable") != 0 {
				t.Errorf("rolling update maxUnavailable = %v, want 0", d.get("spec", "strategy", "rollingUpdate", "maxUnavailable"))
			}
			enc, _ := find(t, objs, "Secret").get("data", "RAMPART_ADMIN_TOKEN").(string)
			if tok, err := base64.StdEncoding.DecodeString(enc); err != nil || len(tok) < 32 {
				t.Errorf("generated admin token %q (%v) is too short", tok, err)
			}
			for _, kind := range []string{"Service", "ServiceAccount", "PodDisruptionBudget"} {
				find(t, objs, kind)
			}
			for _, kind := range []string{"HorizontalPodAutoscaler", "NetworkPolicy", "PersistentVolumeClaim"} {
				if has(objs, kind) {
					t.Errorf("%s rendered although off by default", kind)
				}
			}
		}},
		{"several replicas on a shared PostgreSQL store with store keys", []string{
			"replicaCount=3", "config.auth.api_keys=true", "config.store.postgres=${RAMPART_STORE_DSN}",
		}, func(t *testing.T, objs []object) {
			cfg := checkConfig(t, objs)
			if cfg.Auth.APIKeys == nil || !*cfg.Auth.APIKeys {
				t.Error("store keys are off in the rendered configuration")
			}
		}},
		{"one replica with a volume and store keys", []string{
			"replicaCount=1", "persistence.enabled=true", "config.auth.api_keys=true",
		}, func(t *testing.T, objs []object) {
			checkConfig(t, objs)
			find(t, objs, "PersistentVolumeClaim")
			if s := find(t, objs, "Deployment").get("spec", "strategy", "type"); s != "Recreate" {
				t.Errorf("strategy %v, want Recreate with a ReadWriteOnce volume", s)
			}
		}},
		{"autoscaling and network policy", []string{
			"autoscaling.enabled=true", "networkPolicy.enabled=true",
		}, func(t *testing.T, objs []object) {
			checkConfig(t, objs)
			find(t, objs, "HorizontalPodAutoscaler")
			find(t, objs, "NetworkPolicy")
		}},
		{"admin TLS switches the probes to HTTPS", []string{
			"config.admin.tls.cert_file=/certs/tls.crt", "config.admin.tls.key_file=/certs/tls.key",
		}, func(t *testing.T, objs []object) {
			checkConfig(t, objs)
			c := object(find(t, objs, "Deployment").get("spec", "template", "spec", "containers", 0).(map[string]any))
			if s := c.get("readinessProbe", "httpGet", "scheme"); s != "HTTPS" {
				t.Errorf("readiness probe scheme %v, want HTTPS", s)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			objs, err := render(t, bin, tc.values...)
			if err != nil {
				t.Fatalf("helm template: %v", err)
			}
			tc.check(t, objs)
		})
	}
}

// TestChartRefuses checks that the chart refuses, with a reason naming the
// setting, what cannot work.
func TestChartRefuses(t *testing.T) {
	t.Parallel()
	bin := helmBin(t)
	tests := []struct {
		desc   string
		values []string
		want   string
	}{
		{"store keys on SQLite with several replicas", []string{"replicaCount=2", "config.auth.api_keys=true"}, "config.auth.api_keys"},
		{"store keys on SQLite with autoscaling", []string{"replicaCount=1", "autoscaling.enabled=true", "config.auth.api_keys=true"}, "config.auth.api_keys"},
		{"a volume with several replicas", []string{"replicaCount=2", "persistence.enabled=true"}, "persistence.enabled"},
		{"a grace period shorter than the drain", []string{"terminationGracePeriodSeconds=30"}, "terminationGracePeriodSeconds"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			_, err := render(t, bin, tc.values...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("helm template: %v, want a refusal naming %s", err, tc.want)
			}
		})
	}
}
