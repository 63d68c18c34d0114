// Package config holds the runtime configuration and the plan table.
package config

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
	// BulkSubmissions bounds the large async submissions (bodies over 1 MiB)
	// a node stores at once; more wait a few seconds, then get 503
	// (FIRSTMATE_BULK_SUBMISSIONS; 0: 2).
	BulkSubmissions int
}
