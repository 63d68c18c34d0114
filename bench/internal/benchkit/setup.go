package benchkit

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultPostgresURL is the test PostgreSQL of this box.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// Prefix starts every log line (the program's name).
var Prefix = "bench"

// Logf logs progress to stderr; stdout carries only the report.
func Logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, Prefix+": "+format+"\n", args...)
}

func EnvOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// ModuleRoot is the directory holding go.mod.
func ModuleRoot(ctx context.Context) (string, error) {
	gomod, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	return filepath.Dir(strings.TrimSpace(string(gomod))), nil
}

// BuildFirstmate builds ./cmd/firstmate from the working tree to out.
func BuildFirstmate(ctx context.Context, out string) error {
	root, err := ModuleRoot(ctx)
	if err != nil {
		return err
	}
	Logf("building firstmate (go build -o %s ./cmd/firstmate)", out)
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/firstmate")
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("build firstmate: %w", err)
	}
	return nil
}

// Binary is prebuilt when given, else a firstmate built into dir.
func Binary(ctx context.Context, prebuilt, dir string) (string, error) {
	if prebuilt != "" {
		return prebuilt, nil
	}
	bin := filepath.Join(dir, "firstmate")
	return bin, BuildFirstmate(ctx, bin)
}

// Source describes the binary under test for the report header.
func Source(prebuilt string) string {
	if prebuilt != "" {
		return "prebuilt " + prebuilt
	}
	commit, _ := exec.Command("git", "describe", "--always", "--dirty").Output()
	return "built from the working tree at " + strings.TrimSpace(string(commit))
}

// ChildEnv is this process's environment without FIRSTMATE_* settings, so
// that nothing from the caller's shell changes the server under test.
func ChildEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "FIRSTMATE_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// PostgresSchema creates a fresh schema and returns a URL that uses it (and
// names its sessions after it), and a function that drops it.
func PostgresSchema(ctx context.Context, base, prefix string) (string, func(), error) {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := prefix + "_" + hex.EncodeToString(b)
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	c, err := pgx.Connect(cctx, base)
	if err != nil {
		return "", nil, fmt.Errorf("postgres unreachable: %w", err)
	}
	defer c.Close(context.Background())
	if _, err := c.Exec(cctx, "CREATE SCHEMA "+schema); err != nil {
		return "", nil, err
	}
	drop := func() {
		dctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		c, err := pgx.Connect(dctx, base)
		if err != nil {
			Logf("could not drop schema %s: %v", schema, err)
			return
		}
		defer c.Close(dctx)
		if _, err := c.Exec(dctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			Logf("could not drop schema %s: %v", schema, err)
		}
	}
	u, err := url.Parse(base)
	if err != nil {
		drop()
		return "", nil, err
	}
	q := u.Query()
	q.Set("search_path", schema)
	// Tells this run's sessions apart in pg_stat_activity (the server is shared).
	q.Set("application_name", schema)
	u.RawQuery = q.Encode()
	return u.String(), drop, nil
}

// Authed is a request carrying an API key.
func Authed(method, u, key string, body []byte) (*http.Request, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-API-Key", key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

// Call makes one setup request and decodes a 2xx JSON answer into into.
func Call(method, u, key string, body any, into any) ([]byte, error) {
	var raw []byte
	if body != nil {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			return nil, err
		}
	}
	req, err := Authed(method, u, key, raw)
	if err != nil {
		return nil, err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	if res.StatusCode/100 != 2 {
		return data, fmt.Errorf("%s %s: status %d: %.500s", method, u, res.StatusCode, data)
	}
	if into != nil {
		if err := json.Unmarshal(data, into); err != nil {
			return data, fmt.Errorf("%s %s: %w", method, u, err)
		}
	}
	return data, nil
}

// Workspace is what `firstmate workspace create --json` prints.
type Workspace struct {
	UID    string `json:"workspace_uid"`
	APIKey string `json:"api_key"`
	Plan   string `json:"plan"`
}

// CreateWorkspace runs `firstmate workspace create --plan plan --json`
// against the data dir or database the server uses.
func CreateWorkspace(ctx context.Context, bin, dataDir, dbURL, name, plan, email string) (Workspace, error) {
	args := []string{"workspace", "create", "--name", name, "--plan", plan, "--owner-email", email, "--json",
		"--data-dir", dataDir}
	if dbURL != "" {
		args = append(args, "--database-url", dbURL)
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = ChildEnv()
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return Workspace{}, fmt.Errorf("firstmate workspace create: %w", err)
	}
	var ws Workspace
	if err := json.Unmarshal(out, &ws); err != nil || ws.APIKey == "" || ws.Plan != plan {
		return Workspace{}, fmt.Errorf("firstmate workspace create printed %q (%v)", out, err)
	}
	return ws, nil
}

// FetchProfile saves a pprof profile from u to file.
func FetchProfile(u, file string) error {
	res, err := http.Get(u)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: status %d", u, res.StatusCode)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, res.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// ProfileCPU fetches a CPU profile of the next d from a pprof listener, in
// the background; wait for the returned channel.
func ProfileCPU(pprofAddr string, d time.Duration, file string) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		secs := max(1, int(d.Seconds()))
		if err := FetchProfile(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", pprofAddr, secs), file); err != nil {
			Logf("cpu profile: %v", err)
		} else {
			Logf("cpu profile: %s", file)
		}
	}()
	return done
}

// Slug makes a file-name-safe name.
func Slug(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else if b.Len() > 0 && !strings.HasSuffix(b.String(), "-") {
			b.WriteByte('-')
		}
	}
	return strings.Trim(b.String(), "-")
}

func Ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

func MiB(kib int64) string { return fmt.Sprintf("%.1f MiB", float64(kib)/1024) }

func PassMiss(ok bool) string {
	if ok {
		return "PASS"
	}
	return "MISS"
}

// LoadAvg is the 1-minute load average: on a shared box, other work
// competes with the server and the clients for the same CPUs.
func LoadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) > 0 {
		return f[0]
	}
	return "?"
}
