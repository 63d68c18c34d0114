// Package auth makes and checks credentials (API keys, one-time tokens,
// member passwords) and holds the permission table: which role may do what.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"github.com/firstmate-oss/firstmate/internal/model"
)

// KeyPrefix starts every API key so that leaked keys are easy to spot (and to
// grep for in logs).
const KeyPrefix = "fm_"

var b32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewAPIKey returns a fresh key (32 random bytes), a short display prefix and
// the hash to store. The key itself is shown once and never stored.
func NewAPIKey() (key, display, hash string) {
	key = KeyPrefix + randomToken(32)
	return key, key[:len(KeyPrefix)+8], HashToken(key)
}

// NewToken returns a one-time token (invitations, login links) and its hash.
func NewToken() (token, hash string) {
	token = randomToken(32)
	return token, HashToken(token)
}

func randomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return b32.EncodeToString(b)
}

// HashToken is SHA-256: tokens carry 256 bits of entropy, so a slow hash adds
// nothing but latency to every request.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// LooksLikeKey rejects obviously malformed keys before touching the database.
func LooksLikeKey(key string) bool {
	return strings.HasPrefix(key, KeyPrefix) && len(key) > len(KeyPrefix)+16 && len(key) < 200
}

// HashPassword hashes a member's dashboard password.
func HashPassword(password string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	return string(h), err
}

// CheckPassword compares in constant time.
func CheckPassword(hash, password string) bool {
	if hash == "" {
		return false
	}
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
}

// Permission is what a route requires.
type Permission int

const (
	// Public routes need no key (health, OpenAPI, invitation acceptance).
	Public Permission = iota
	// Read is any member: owner, ops and user.
	Read
	// Self is any member acting on their own credentials (their API keys).
	// Keys are a member's personal credentials, like a password, so even the
	// read-only user role manages its own.
	Self
	// Operate is owner and ops: identities, integrations, actions, runs,
	// schedules, webhooks and workspace settings.
	Operate
	// Own is the owner only: members, billing and plan.
	Own
)

func (p Permission) String() string {
	return [...]string{"public", "read", "self", "operate", "own"}[p]
}

// Allows is the permission table, in one place.
func Allows(role string, p Permission) bool {
	switch p {
	case Public, Read, Self:
		return role == model.RoleOwner || role == model.RoleOps || role == model.RoleUser
	case Operate:
		return role == model.RoleOwner || role == model.RoleOps
	case Own:
		return role == model.RoleOwner
	}
	return false
}

// ValidRole reports whether role is one of the three member roles.
func ValidRole(role string) bool {
	return role == model.RoleOwner || role == model.RoleOps || role == model.RoleUser
}
