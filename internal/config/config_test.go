package config

import (
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func env(kv map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := kv[k]; return v, ok }
}

func TestLoad(t *testing.T) {
	c, err := Load(env(map[string]string{
		"FIRSTMATE_ADDR": "0.0.0.0:9000", "FIRSTMATE_ACCESS_LOG": "off", "FIRSTMATE_CALLBACK_ALLOW_LOOPBACK": "true",
		"FIRSTMATE_CALLBACK_ALLOW_CIDRS": " 10.0.0.0/8, 192.168.1.0/24 ,", "FIRSTMATE_CALLBACK_RETRY_SCHEDULE": "0s,1s,2s",
		"FIRSTMATE_RUN_WORKERS": "4", "FIRSTMATE_JOB_RESCUE_AFTER": "30s", "FIRSTMATE_HEALTH_CHECKS": "off",
		"FIRSTMATE_SIM": "off", "FIRSTMATE_SIM_SEED": "-7", "FIRSTMATE_SIM_LATENCY": "15ms", "FIRSTMATE_LOG_LEVEL": "WARN",
		"FIRSTMATE_HUBSPOT_URL": "fake", "FIRSTMATE_DATA_DIR": "   ", // blank: unset
		"FIRSTMATE_SIM_EXECUTOR_SECRET": "whsec_abc", "FIRSTMATE_LINKEDIN_URL": "http://127.0.0.1:8090",
		"FIRSTMATE_LINKEDIN_RECIPES": "/etc/firstmate/recipes.json", "FIRSTMATE_BULK_SUBMISSIONS": "5",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.1.0/24")}
	if c.Addr != "0.0.0.0:9000" || c.AccessLog || !c.Callbacks.AllowLoopback || len(c.Callbacks.AllowCIDRs) != 2 ||
		c.Callbacks.AllowCIDRs[0] != want[0] || c.Callbacks.AllowCIDRs[1] != want[1] ||
		len(c.Callbacks.RetrySchedule) != 3 || c.Callbacks.RetrySchedule[2] != 2*time.Second ||
		c.Jobs.RunWorkers != 4 || c.Jobs.DeliveryWorkers != 16 || c.Jobs.RescueAfter != 30*time.Second ||
		!c.Health.Off || !c.Sim.Off || c.Sim.Seed != -7 || c.Sim.Latency != 15*time.Millisecond || c.LogLevel != "warn" ||
		c.HubSpotURL != "fake" || c.DataDir != "firstmate-data" || c.Sim.ExecutorSecret != "whsec_abc" ||
		c.LinkedIn.URL != "http://127.0.0.1:8090" || c.LinkedIn.Recipes != "/etc/firstmate/recipes.json" || c.BulkSubmissions != 5 {
		t.Errorf("Load: %+v", c)
	}

	// Loopback callbacks are refused unless asked for (contract §7).
	d, err := Load(env(nil))
	if err != nil || !d.AccessLog || d.Callbacks.AllowLoopback || d.Health.Off || d.Sim.Off || d.Addr != "127.0.0.1:8080" ||
		d.Callbacks.Timeout != 15*time.Second || d.Schedules.Poll != 250*time.Millisecond || d.BulkSubmissions != 2 {
		t.Errorf("defaults: %+v %v", d, err)
	}
}

// A malformed value is an error that names the variable; a security
// allowance that does not parse stays closed.
func TestLoadRefusesMalformedValues(t *testing.T) {
	for name, val := range map[string]string{
		"FIRSTMATE_RUN_WORKERS": "many", "FIRSTMATE_CALLBACK_PER_HOST": "0", "FIRSTMATE_CALLBACK_TIMEOUT": "15",
		"FIRSTMATE_HEALTH_CHECKS": "maybe", "FIRSTMATE_CALLBACK_ALLOW_CIDRS": "10.0.0.0/33", "FIRSTMATE_LOG_LEVEL": "loud",
		"FIRSTMATE_CALLBACK_RETRY_SCHEDULE": "5s,soon", "FIRSTMATE_SIM_SEED": "x", "FIRSTMATE_ACCESS_LOG": "of",
		"FIRSTMATE_CALLBACK_ALLOW_LOOPBACK": "flase", "FIRSTMATE_BULK_SUBMISSIONS": "0",
	} {
		c, err := Load(env(map[string]string{name: val}))
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%q: error %v, want one naming the variable", name, val, err)
		}
		if name == "FIRSTMATE_CALLBACK_ALLOW_LOOPBACK" && c.Callbacks.AllowLoopback {
			t.Errorf("%s=%q opened loopback", name, val)
		}
	}
}

// repoRoot is the module root, two levels up.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found at %s: %v", root, err)
	}
	return root
}

func known() map[string]bool {
	m := map[string]bool{}
	for _, v := range Vars {
		m[v.Name] = true
	}
	return m
}

// TestEnvironmentIsReadHereOnly keeps the configuration in one place: no
// product code outside this package reads the environment, and every
// FIRSTMATE_ variable product code names is one this package knows (so none
// is read, documented or suggested in an error message without being in
// Vars, the help and the README). Tests, the test-support packages
// internal/apitest and internal/reftest, the benchmarks and the code
// generators in tools/ have their own variables and are not the product.
// prefixOfKnown says whether some variable starts with prefix.
func prefixOfKnown(prefix string) bool {
	for _, v := range Vars {
		if strings.HasPrefix(v.Name, prefix) {
			return true
		}
	}
	return false
}

func TestEnvironmentIsReadHereOnly(t *testing.T) {
	root := repoRoot(t)
	envRead := regexp.MustCompile(`\b(os\.(Getenv|LookupEnv|Environ|ExpandEnv)|syscall\.Getenv)\(`)
	varRE := regexp.MustCompile(`FIRSTMATE_[A-Z0-9_]*`)
	names := known()
	skip := map[string]bool{"internal/config": true, "internal/apitest": true, "internal/reftest": true, "bench": true,
		"tools": true, ".git": true}
	files := 0
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if skip[rel] {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(rel, ".go") || strings.HasSuffix(rel, "_test.go") {
			return nil
		}
		files++
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(src), "\n") {
			if envRead.MatchString(line) {
				t.Errorf("%s:%d reads the environment; read it in internal/config (Vars) instead:\n\t%s", rel, i+1, strings.TrimSpace(line))
			}
			for _, v := range varRE.FindAllString(line, -1) {
				if strings.HasSuffix(v, "_") && prefixOfKnown(v) {
					continue // a family of variables: FIRSTMATE_PLATFORM_<FAMILY>
				}
				if !names[v] {
					t.Errorf("%s:%d names %s, which internal/config does not know: add it to config.Vars (and the README)", rel, i+1, v)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 50 {
		t.Fatalf("only %d Go files scanned under %s: the walk is broken", files, root)
	}
}

// TestEveryVariableIsDocumented: each variable, with its default, is in
// `firstmate help config` (Help) and in a row of the README's configuration
// table.
func TestEveryVariableIsDocumented(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	start := strings.Index(text, "\n## Configuration\n")
	if start < 0 {
		t.Fatal("README.md has no ## Configuration section")
	}
	section := text[start+1:]
	if end := strings.Index(section[3:], "\n## "); end >= 0 {
		section = section[:end+3]
	}
	rows := map[string]string{} // variable -> its table row
	for _, line := range strings.Split(section, "\n") {
		if !strings.HasPrefix(line, "|") {
			continue
		}
		for _, m := range regexp.MustCompile("`([A-Z][A-Z0-9_]+)`").FindAllStringSubmatch(line, -1) {
			rows[m[1]] = line
		}
	}
	help := Help()
	for _, v := range Vars {
		row, ok := rows[v.Name]
		if !ok {
			t.Errorf("%s is missing from the README's configuration table", v.Name)
		} else {
			if v.Default != "" && !strings.Contains(row, v.Default) {
				t.Errorf("the README row of %s does not give its default %q:\n%s", v.Name, v.Default, row)
			}
			if v.Flag != "" && !strings.Contains(row, "`"+v.Flag+"`") {
				t.Errorf("the README row of %s does not name its flag %s:\n%s", v.Name, v.Flag, row)
			}
		}
		if !strings.Contains(help, "  "+v.Name) || (v.Default != "" && !strings.Contains(help, "[default "+v.Default+"]")) {
			t.Errorf("firstmate help config does not list %s with its default %q", v.Name, v.Default)
		}
	}
	for name := range rows {
		if !known()[name] && name != "GOMEMLIMIT" {
			t.Errorf("the README's configuration table lists %s, which Firstmate does not read", name)
		}
	}
}

// Tracing follows the OpenTelemetry specification's variables: off with no
// endpoint; the base endpoint gets /v1/traces, the traces endpoint is
// taken as it is and wins; OTEL_SDK_DISABLED and OTEL_TRACES_EXPORTER=none
// turn it off; headers are URL-decoded, the traces ones over the shared
// ones; a malformed value names its variable and never repeats a header.
func TestTracingSettings(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		want string
	}{
		{nil, ""},
		{map[string]string{"OTEL_SERVICE_NAME": "svc", "OTEL_TRACES_SAMPLER": "always_on"}, ""},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318/"}, "http://collector:4318/v1/traces"},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "https://otlp.example/base"}, "https://otlp.example/base/v1/traces"},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://b:4318/custom"},
			"http://b:4318/custom"},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318", "OTEL_SDK_DISABLED": "true"}, ""},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318", "OTEL_SDK_DISABLED": "false"}, "http://a:4318/v1/traces"},
		{map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://b:4318/v1/traces", "OTEL_TRACES_EXPORTER": "NONE"}, ""},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
			"OTEL_TRACES_EXPORTER": "otlp"}, "http://a:4318/v1/traces"},
	} {
		cfg, err := Load(env(c.env))
		if err != nil {
			t.Errorf("%v: %v", c.env, err)
			continue
		}
		if got := cfg.Tracing.URL(); got != c.want {
			t.Errorf("%v: traces URL %q, want %q", c.env, got, c.want)
		}
	}

	cfg, err := Load(env(map[string]string{"OTEL_EXPORTER_OTLP_HEADERS": "authorization=Bearer%20shared, x-team=core",
		"OTEL_EXPORTER_OTLP_TRACES_HEADERS": "authorization=Bearer%20traces", "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=prod,region=eu%2Dwest",
		"OTEL_TRACES_SAMPLER": "ParentBased_TraceIdRatio", "OTEL_TRACES_SAMPLER_ARG": "0.25", "OTEL_SERVICE_NAME": "fm-eu"}))
	if err != nil {
		t.Fatal(err)
	}
	h := cfg.Tracing.ExportHeaders()
	if len(h) != 2 || h["authorization"] != "Bearer traces" || h["x-team"] != "core" {
		t.Errorf("export headers %v", h)
	}
	tr := cfg.Tracing
	if tr.Resource["deployment.environment"] != "prod" || tr.Resource["region"] != "eu-west" || tr.Sampler != "parentbased_traceidratio" ||
		tr.SamplerArg != "0.25" || tr.ServiceName != "fm-eu" {
		t.Errorf("tracing settings %+v", tr)
	}

	for name, val := range map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "grpc://c:4317",
		"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/json", "OTEL_SDK_DISABLED": "yes please",
		"OTEL_TRACES_EXPORTER": "jaeger", "OTEL_TRACES_SAMPLER": "sometimes", "OTEL_TRACES_SAMPLER_ARG": "2",
		"OTEL_EXPORTER_OTLP_HEADERS": "Bearer s3cr3t-token", "OTEL_EXPORTER_OTLP_TRACES_HEADERS": "k=%zz-s3cr3t-token",
		"OTEL_RESOURCE_ATTRIBUTES": "=x",
	} {
		_, err := Load(env(map[string]string{name: val}))
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%q: error %v, want one naming the variable", name, val, err)
		} else if strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("%s: the error repeats the value: %v", name, err)
		}
	}
}
