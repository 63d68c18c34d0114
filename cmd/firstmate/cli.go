package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/firstmate-oss/firstmate/internal/config"
)

// command is one subcommand as typed ("pool add"), its synopsis and what it
// does. The table is the usage text and the dispatch: a command missing
// here cannot be run.
type command struct {
	name     string
	synopsis string
	summary  string
	run      func(c *cli, args []string) error
}

var commands []command

func init() {
	commands = []command{
		{"serve", "[--addr HOST:PORT] [--public-url URL]", "serve the API (the default command)", (*cli).serve},
		{"migrate", "", "apply database migrations and exit", (*cli).migrate},
		{"backup", "--to FILE", "write a consistent online backup of the SQLite database (on PostgreSQL: how to use pg_dump)", (*cli).backup},
		{"copy", "--to postgres://...", "move this SQLite installation, all of it, into an empty PostgreSQL database", (*cli).copyTo},
		{"workspace create", "--name N --owner-email E [--plan P] [--json]", "create a workspace and print its owner's API key", (*cli).workspaceCreate},
		{"keys create", "--workspace W [--role owner|ops|user] [--member UID|EMAIL] [--name N] [--json]",
			"print a new API key for an existing workspace (a lost key)", (*cli).keysCreate},
		{"keys list", "--workspace W [--json]", "list a workspace's API keys (their prefixes, never the keys)", (*cli).keysList},
		{"keys revoke", "--workspace W --key UID|PREFIX", "revoke one of a workspace's API keys", (*cli).keysRevoke},
		{"pool add", "--name N --li-at COOKIE", "add a LinkedIn account to the managed pool (identity_mode managed)", (*cli).poolAdd},
		{"pool list", "[--json]", "list the managed pool: status, level, rental end", (*cli).poolList},
		{"pool check", "", "validate every pool account now; expired ones become INVALID", (*cli).poolCheck},
		{"pool remove", "--uid UID", "remove an account from the managed pool", (*cli).poolRemove},
		{"pool rent", "--workspace W --identity I [--days N] [--platform P]", "rent a pool account to a workspace's identity", (*cli).poolRent},
		{"pool expire", "", "end the rentals whose period is over", (*cli).poolExpire},
		{"proxies list", "[--json]", "the egress proxy pool: country, identity, health (no credentials)", (*cli).proxiesList},
		{"platforms", "[--json] [--wait D]", "what serves each platform family, and each action or why it is unavailable", (*cli).platforms},
		{"sim", "[--addr HOST:PORT] [--seed N] [--data-file F] [--latency D] [--executor [--executor-secret S]]",
			"run the platform simulator alone; --executor also serves the remote executor protocol", (*cli).simServe},
		{"sim accounts", "[--json]", "print the simulator's sandbox accounts", (*cli).simAccounts},
		{"executor check", "URL --secret S|--secret-file F [--deadline D] [--slow-deadline D] [--max-pages N] [--outreach] [--cases FILE]",
			"run the conformance kit against a remote executor", (*cli).executorCheck},
		{"probe linkedin", "--li-at VALUE [--jsessionid VALUE] [--proxy URL] [--base-url URL] [--recipes FILE] [--write --profile URL --message M] [--json]",
			"check that LinkedIn still answers the session driver's recipes as they expect, with your own session", (*cli).probeLinkedIn},
		{"version", "", "print the version", (*cli).version},
		{"help", "[COMMAND | config]", "this text, a command's flags, or every environment variable", (*cli).help},
	}
}

// details say more about a command in its --help, below its summary.
var details = map[string]string{
	"backup": `SQLite's VACUUM INTO on a connection of its own: one snapshot, taken while the
node keeps serving. The file is a complete SQLite database; keep the secret
key with it.`,
	"copy": `Stop the nodes first: writes after the copy's snapshot stay behind. Every
Firstmate table is copied in one PostgreSQL transaction (a failure leaves the
target empty), identity sequences are advanced, and unfinished jobs are
enqueued again. The target must be empty; it is migrated if it is not yet.`,
	"executor check": `Prints each case of the protocol (capabilities, signatures, actions, errors,
deadlines) as PASS, FAIL or SKIP; exits non-zero when one fails.`,
	"platforms": `Reads the FIRSTMATE_PLATFORM_<FAMILY> settings as the server would (the same
environment), asks each remote executor for its capabilities, and prints each
family's route (sandbox, a built-in driver, an executor or off), then every
action with the driver that serves it or why it is unavailable. It touches no
data; a misconfiguration fails it with the message the server would give.`,
	"probe linkedin": `Runs every recipe of the LinkedIn session driver once and prints, per action,
whether LinkedIn's answers still have the shape the driver needs: ok, changed
(the missing path), broken (LinkedIn's status), or skipped. It only reads
unless given --write. Exits non-zero when an action changed or broke.`,
}

// usage is the full usage text: every command.
func usage() string {
	var b strings.Builder
	b.WriteString("usage: firstmate [COMMAND] [FLAGS]\n\nCommands:\n")
	for _, c := range commands {
		line := c.name
		if c.synopsis != "" {
			line += " " + c.synopsis
		}
		fmt.Fprintf(&b, "  %s\n      %s\n", line, c.summary)
	}
	b.WriteString(`
Commands that touch data take --data-dir DIR (FIRSTMATE_DATA_DIR, default
./firstmate-data) and --database-url URL (FIRSTMATE_DATABASE_URL, postgres://...).
Run 'firstmate COMMAND --help' for a command's flags, and 'firstmate help config'
for every environment variable.
`)
	return b.String()
}

// groupUsage lists the commands of a group ("pool").
func groupUsage(group string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "usage: firstmate %s COMMAND [FLAGS]\n\nCommands:\n", group)
	for _, c := range commands {
		if strings.HasPrefix(c.name, group+" ") {
			fmt.Fprintf(&b, "  %s\n      %s\n", strings.TrimSpace(c.name+" "+c.synopsis), c.summary)
		}
	}
	fmt.Fprintf(&b, "\nRun 'firstmate %s COMMAND --help' for a command's flags.\n", group)
	return b.String()
}

func findCommand(name string) *command {
	for i := range commands {
		if commands[i].name == name {
			return &commands[i]
		}
	}
	return nil
}

func isGroup(name string) bool {
	for _, c := range commands {
		if strings.HasPrefix(c.name, name+" ") {
			return true
		}
	}
	return false
}

func isHelpFlag(a string) bool { return a == "-h" || a == "-help" || a == "--help" }

// errHelpShown ends a command whose help was asked for: exit status 0.
var errHelpShown = errors.New("help shown")

// cli runs one invocation.
type cli struct {
	stdout, stderr io.Writer
}

func (c *cli) dispatch(args []string) error {
	if len(args) == 0 {
		return c.serve(nil)
	}
	if isHelpFlag(args[0]) {
		fmt.Fprint(c.stdout, usage())
		return nil
	}
	if strings.HasPrefix(args[0], "-") {
		return c.serve(args)
	}
	if len(args) > 1 {
		if cmd := findCommand(args[0] + " " + args[1]); cmd != nil {
			return cmd.run(c, args[2:])
		}
	}
	if cmd := findCommand(args[0]); cmd != nil {
		return cmd.run(c, args[1:])
	}
	if isGroup(args[0]) {
		if len(args) > 1 && isHelpFlag(args[1]) {
			fmt.Fprint(c.stdout, groupUsage(args[0]))
			return nil
		}
		if len(args) == 1 {
			return fmt.Errorf("%s needs a command\n%s", args[0], groupUsage(args[0]))
		}
		return fmt.Errorf("unknown command %q\n%s", args[0]+" "+args[1], groupUsage(args[0]))
	}
	return fmt.Errorf("unknown command %q\n%s", args[0], usage())
}

// help prints the usage, a command's flags or the configuration.
func (c *cli) help(args []string) error {
	switch {
	case len(args) == 0:
		fmt.Fprint(c.stdout, usage())
		return nil
	case len(args) == 1 && args[0] == "config":
		fmt.Fprint(c.stdout, config.Help())
		return nil
	}
	name := strings.Join(args, " ")
	if cmd := findCommand(name); cmd != nil {
		return cmd.run(c, []string{"--help"})
	}
	if len(args) == 1 && isGroup(args[0]) {
		fmt.Fprint(c.stdout, groupUsage(args[0]))
		return nil
	}
	return fmt.Errorf("no help for %q\n%s", name, usage())
}

// opts are a command's flags and the configuration they fill.
type opts struct {
	c      *cli
	name   string
	fs     *flag.FlagSet
	cfg    config.Config
	envErr error
	// maxArgs is how many arguments may follow the flags (none by default).
	maxArgs int
}

// flags starts a command's flag set with the environment's configuration;
// data adds --data-dir and --database-url. Nothing is read from disk here.
func (c *cli) flags(name string, data bool) *opts {
	o := &opts{c: c, name: name, fs: flag.NewFlagSet(name, flag.ContinueOnError)}
	o.cfg, o.envErr = config.FromEnv()
	o.fs.SetOutput(c.stderr)
	o.fs.Usage = func() { o.printUsage(o.fs.Output()) }
	if data {
		o.fs.StringVar(&o.cfg.DataDir, "data-dir", o.cfg.DataDir, "data directory: SQLite file and secret key (FIRSTMATE_DATA_DIR)")
		o.fs.StringVar(&o.cfg.DatabaseURL, "database-url", o.cfg.DatabaseURL, "postgres:// URL; empty for SQLite in the data directory (FIRSTMATE_DATABASE_URL)")
	}
	return o
}

func (o *opts) printUsage(w io.Writer) {
	cmd := findCommand(o.name)
	fmt.Fprintf(w, "usage: firstmate %s", o.name)
	if cmd != nil && cmd.synopsis != "" {
		fmt.Fprintf(w, " %s", cmd.synopsis)
	}
	fmt.Fprintln(w)
	if cmd != nil {
		fmt.Fprintf(w, "\n%s.\n", strings.ToUpper(cmd.summary[:1])+cmd.summary[1:])
		if d := details[o.name]; d != "" {
			fmt.Fprintf(w, "%s\n", d)
		}
	}
	n := 0
	o.fs.VisitAll(func(*flag.Flag) { n++ })
	if n > 0 {
		fmt.Fprintln(w, "\nFlags:")
		o.fs.PrintDefaults()
	}
}

// parse reads the flags. --help prints the command's usage on stdout and
// ends it (errHelpShown) before anything is opened; a malformed environment
// variable is reported only when the command would run.
func (o *opts) parse(args []string) error {
	for _, a := range args {
		if a == "--" {
			break
		}
		if isHelpFlag(a) {
			o.fs.SetOutput(o.c.stdout)
			o.fs.Usage()
			return errHelpShown
		}
	}
	if err := o.fs.Parse(args); err != nil {
		return err
	}
	if o.fs.NArg() > o.maxArgs {
		return fmt.Errorf("%s: unexpected argument %q (see firstmate %s --help)", o.name, o.fs.Arg(o.maxArgs), o.name)
	}
	return o.envErr
}
