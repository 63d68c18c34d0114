package sim

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Account levels, spelled as the contract spells them.
const (
	LevelClassic   = "Classic"
	LevelPremium   = "Premium"
	LevelSalesNav  = "Sales Navigator"
	LevelRecruiter = "Recruiter Lite"
)

// Checkpoint types a login can hit.
const (
	Checkpoint2FA        = "2FA"
	CheckpointOTP        = "OTP"
	CheckpointEmail      = "EMAIL"
	CheckpointPhone      = "PHONE_REGISTER"
	CheckpointInApp      = "IN_APP_VALIDATION"
	CheckpointCaptcha    = "CAPTCHA"
	SandboxPassword      = "sandbox"
	sessionCookiePrefix  = "sim_sess_"
	defaultViewLimit     = 300  // Classic/Premium hidden daily profile-visit threshold
	defaultViewLimitSN   = 1500 // Sales Navigator / Recruiter Lite
	defaultInviteLimit   = 120  // hidden daily connection-request threshold
	defaultMessageLimit  = 400  // hidden daily message threshold
	defaultSearchLimit   = 3000 // hidden daily search-page threshold
	restrictedViewLimit  = 10
	expiringAfterCalls   = 5
	inAppPollsNeeded     = 3
	flakyCycle           = 6
	defaultSlowLatency   = time.Second
	defaultHangFor       = 2 * time.Minute
	managedAccountsCount = 5
)

// Account is one sandbox LinkedIn account, like a payment provider's test card.
type Account struct {
	Name     string `json:"name"`
	Cookie   string `json:"li_at,omitempty"`    // ready session cookie ("" for login-only accounts)
	Username string `json:"username,omitempty"` // login ("" for cookie-only accounts)
	Password string `json:"password,omitempty"`
	Level    string `json:"level"`
	// Checkpoint is the challenge the login hits ("" for none); Code answers it.
	Checkpoint string `json:"checkpoint,omitempty"`
	Code       string `json:"code,omitempty"`
	// Behaviour is one of ready, managed, expiring, restricted, slow, flaky,
	// hang, wrong-password, captcha-fail.
	Behaviour   string `json:"behaviour"`
	Description string `json:"description"`

	ViewLimit    int `json:"-"` // hidden daily profile-visit threshold (0: none)
	InviteLimit  int `json:"-"`
	MessageLimit int `json:"-"`
	SearchLimit  int `json:"-"`
}

// IsSalesNav reports whether the account can use Sales Navigator.
func (a Account) IsSalesNav() bool { return a.Level == LevelSalesNav }

// Accounts lists the sandbox accounts in a stable order.
func Accounts() []Account {
	base := func(name, cookie, user, level, behaviour, desc string) Account {
		a := Account{Name: name, Cookie: cookie, Username: user, Level: level, Behaviour: behaviour, Description: desc,
			ViewLimit: defaultViewLimit, InviteLimit: defaultInviteLimit, MessageLimit: defaultMessageLimit, SearchLimit: defaultSearchLimit}
		if user != "" {
			a.Password = SandboxPassword
		}
		if level == LevelSalesNav || level == LevelRecruiter {
			a.ViewLimit = defaultViewLimitSN
		}
		return a
	}
	as := []Account{
		base("classic", "sim_classic", "classic@sim.test", LevelClassic, "ready", "Ready Classic account."),
		base("premium", "sim_premium", "premium@sim.test", LevelPremium, "ready", "Ready Premium account."),
		base("salesnav", "sim_salesnav", "salesnav@sim.test", LevelSalesNav, "ready", "Ready Sales Navigator account."),
		base("recruiter", "sim_recruiter", "recruiter@sim.test", LevelRecruiter, "ready", "Ready Recruiter Lite account."),
	}
	for i := 1; i <= managedAccountsCount; i++ {
		a := base(fmt.Sprintf("managed_%d", i), fmt.Sprintf("sim_managed_%d", i), "", LevelSalesNav, "managed",
			"Ready Sales Navigator account for the managed pool; no hidden thresholds.")
		a.ViewLimit, a.InviteLimit, a.MessageLimit, a.SearchLimit = 0, 0, 0, 0
		as = append(as, a)
	}
	// Recruiter Lite searches allow managed identities too: the pool needs
	// one account at that level, or they could never run managed.
	mr := base("managed_recruiter", "sim_managed_recruiter", "", LevelRecruiter, "managed",
		"Ready Recruiter Lite account for the managed pool; no hidden thresholds.")
	mr.ViewLimit, mr.InviteLimit, mr.MessageLimit, mr.SearchLimit = 0, 0, 0, 0
	as = append(as, mr)
	cp := func(name, typ, code, desc string) Account {
		a := base(name, "", name+"@sim.test", LevelPremium, "ready", desc)
		a.Checkpoint, a.Code = typ, code
		return a
	}
	as = append(as,
		cp("2fa", Checkpoint2FA, "123456", "Login hits a 2FA checkpoint; answer 123456."),
		cp("otp", CheckpointOTP, "654321", "Login hits an OTP checkpoint; answer 654321."),
		cp("email", CheckpointEmail, "111111", "Login hits an EMAIL checkpoint (code sent by mail); answer 111111."),
		cp("phone", CheckpointPhone, "222222", "Login hits PHONE_REGISTER; answer 222222 (the SMS code for the registered phone)."),
		cp("inapp", CheckpointInApp, "", fmt.Sprintf("Login hits IN_APP_VALIDATION; poll with an empty code, approved on poll %d.", inAppPollsNeeded)),
		cp("captcha", CheckpointCaptcha, "sim-captcha", "Login hits CAPTCHA; answer sim-captcha passes, any other answer fails the login."),
	)
	cf := cp("captcha-fail", CheckpointCaptcha, "", "Login hits CAPTCHA that always fails, whatever the answer.")
	cf.Behaviour = "captcha-fail"
	wrong := base("wrong", "", "wrong@sim.test", LevelClassic, "wrong-password", "Login always fails: wrong password (any password).")
	wrong.Password = "not-the-password"
	exp := base("expiring", "sim_expiring", "", LevelPremium, "expiring", fmt.Sprintf("Session expires after %d calls: then every call answers 401.", expiringAfterCalls))
	res := base("restricted", "sim_restricted", "", LevelPremium, "restricted", fmt.Sprintf("Restricted (403) once it visits more than %d profiles in a day.", restrictedViewLimit))
	res.ViewLimit = restrictedViewLimit
	slow := base("slow", "sim_slow", "", LevelPremium, "slow", "Every call takes extra latency (1 s by default).")
	flaky := base("flaky", "sim_flaky", "", LevelSalesNav, "flaky", fmt.Sprintf("Fails by call counter: calls %d, %d, %d... answer 429 (Retry-After: 1); calls %d, %d, %d... answer 503.", flakyCycle-1, 2*flakyCycle-1, 3*flakyCycle-1, flakyCycle, 2*flakyCycle, 3*flakyCycle))
	hang := base("hang", "sim_hang", "", LevelPremium, "hang", "Every call hangs until the client gives up (2 min at most).")
	as = append(as, cf, wrong, exp, res, slow, flaky, hang)
	return as
}

// ManagedCookies are the li_at values suited to a managed identity pool.
func ManagedCookies() []string {
	var out []string
	for _, a := range Accounts() {
		if a.Behaviour == "managed" {
			out = append(out, a.Cookie)
		}
	}
	return out
}

// AccountsMarkdown renders the sandbox table (ACCOUNTS.md holds the same table).
func AccountsMarkdown() string {
	var b strings.Builder
	b.WriteString("| account | li_at cookie | login (password `" + SandboxPassword + "`) | level | checkpoint | code | behaviour |\n")
	b.WriteString("|---|---|---|---|---|---|---|\n")
	for _, a := range Accounts() {
		or := func(s string) string {
			if s == "" {
				return "-"
			}
			return "`" + s + "`"
		}
		login := or(a.Username)
		if a.Behaviour == "wrong-password" {
			login += " (any password fails)"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", a.Name, or(a.Cookie), login, a.Level, or(a.Checkpoint), or(a.Code), a.Description)
	}
	b.WriteString("| user_<n> | `sim_user_<n>` (n from 1 to 10,000,000) | - | n mod 4: 1 Classic, 2 Premium, 3 Sales Navigator, 0 Recruiter Lite | - | - | Numbered ready accounts, as many as a test needs; one call at a time each, like a person. |\n")
	return b.String()
}

// accountPerson is the world person who owns the account.
func (w *World) accountPerson(name string) int {
	return int(hashOf(w.seed, hashString("account:"+name)) % uint64(w.NPeople))
}

// sessionCookie is the li_at a successful login returns: derived, not stored, so
// it survives a restart.
func sessionCookie(seed int64, name string) string {
	return sessionCookiePrefix + name + "_" + base62(hashOf(seed, hashString(name), 0x5e55)%1e15, 9)
}

type accountIndex struct {
	mu       sync.Mutex
	users    map[int]*Account // sim_user_<n> accounts met so far
	byCookie map[string]*Account
	byUser   map[string]*Account
	byName   map[string]*Account
	names    []string
}

func newAccountIndex(seed int64) *accountIndex {
	ix := &accountIndex{byCookie: map[string]*Account{}, byUser: map[string]*Account{}, byName: map[string]*Account{}}
	for _, a := range Accounts() {
		a := a
		ix.byName[a.Name] = &a
		ix.names = append(ix.names, a.Name)
		if a.Cookie != "" {
			ix.byCookie[a.Cookie] = &a
		}
		if a.Username != "" {
			ix.byUser[strings.ToLower(a.Username)] = &a
			ix.byCookie[sessionCookie(seed, a.Name)] = &a
		}
	}
	sort.Strings(ix.names)
	return ix
}

// UserCookiePrefix starts the li_at cookies of the numbered sandbox
// accounts: any sim_user_<n> (n from 1 to 10,000,000) is a ready account,
// so that tests and benchmarks can connect thousands of identities.
const UserCookiePrefix = "sim_user_"

// maxUserAccount bounds n in sim_user_<n>.
const maxUserAccount = 10_000_000

// UserLevel is the level of the numbered account sim_user_<n>: n mod 4 is
// 1 Classic, 2 Premium, 3 Sales Navigator, 0 Recruiter Lite.
func UserLevel(n int) string {
	return [...]string{LevelRecruiter, LevelClassic, LevelPremium, LevelSalesNav}[n%4]
}

// UserCookie is the li_at of the numbered account n.
func UserCookie(n int) string { return UserCookiePrefix + strconv.Itoa(n) }

// userNumber parses sim_user_<n>: 0 when c is not one.
func userNumber(c string) int {
	rest, ok := strings.CutPrefix(c, UserCookiePrefix)
	if !ok || rest == "" || len(rest) > 8 || rest[0] == '0' {
		return 0
	}
	n, err := strconv.Atoi(rest)
	if err != nil || n < 1 || n > maxUserAccount {
		return 0
	}
	return n
}

// cookie finds the account of an li_at session cookie (nil: none). The
// numbered accounts are made when first seen, with the hidden daily
// thresholds of their level, like the named ready accounts.
func (ix *accountIndex) cookie(c string) *Account {
	if a := ix.byCookie[c]; a != nil {
		return a
	}
	n := userNumber(c)
	if n == 0 {
		return nil
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if a := ix.users[n]; a != nil {
		return a
	}
	level := UserLevel(n)
	a := &Account{Name: "user_" + strconv.Itoa(n), Cookie: c, Level: level, Behaviour: "ready",
		Description: "Numbered ready account (" + level + ").", ViewLimit: defaultViewLimit, InviteLimit: defaultInviteLimit,
		MessageLimit: defaultMessageLimit, SearchLimit: defaultSearchLimit}
	if level == LevelSalesNav || level == LevelRecruiter {
		a.ViewLimit = defaultViewLimitSN
	}
	if ix.users == nil {
		ix.users = map[int]*Account{}
	}
	ix.users[n] = a
	return a
}
