// Package config holds the runtime configuration and the plan table.
package config

import "os"

// Config is everything the binary reads from flags and environment.
type Config struct {
	// Addr is the HTTP listen address.
	Addr string
	// DataDir holds the SQLite file and the secret-key file.
	DataDir string
	// DatabaseURL switches to PostgreSQL when it is a postgres:// URL.
	DatabaseURL string
	// PublicURL is the externally reachable base URL (login links, pagination
	// links). Empty means http://<Addr>.
	PublicURL string
	// SecretKey is a keyring spec ("kid:base64key,..."); empty means the
	// data-dir key file.
	SecretKey string
	// PlansFile overlays the built-in plans.
	PlansFile string
	// BootstrapAPIKey fixes the first owner's key on an empty database.
	BootstrapAPIKey string
	// LogLevel is debug, info, warn or error.
	LogLevel string
	// Operator runs a one-shot subcommand: no simulator, no seeding.
	Operator bool
	// ProxyPool is the egress proxy pool ("FR=http://u:p@host:port,US=...");
	// ProxyPoolFile a file of "COUNTRY URL" lines. Both empty: identities'
	// traffic goes out directly. See internal/proxy.
	ProxyPool     string
	ProxyPoolFile string
	// AllowLoopbackCallbacks lets callbacks and webhooks go to loopback
	// addresses (FIRSTMATE_CALLBACK_ALLOW_LOOPBACK=true), for receivers on
	// the same machine in local development. Off by default.
	AllowLoopbackCallbacks bool
}

// SimExecutorSecret is the whsec_ secret `firstmate sim --executor` signs
// the executor protocol with (FIRSTMATE_SIM_EXECUTOR_SECRET; the
// --executor-secret flag wins). Empty: the command makes one and prints it.
func SimExecutorSecret() string { return os.Getenv("FIRSTMATE_SIM_EXECUTOR_SECRET") }
