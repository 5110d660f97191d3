// Package directory says who a user is and where the user's mail lives.
//
// One interface, Directory, serves the rest of the system. It has two
// backends and one wrapper:
//
//   - directory/ldap: OpenLDAP (or any LDAPv3 server) through go-ldap/v3, with
//     several servers, failover within one request, pooled service-bind
//     connections for lookups and separate connections for password binds.
//   - directory/ldif: an LDIF file ("ldif:PATH"), the quickstart default,
//     reloadable on SIGHUP, passwords plain or hashed as slapd writes them.
//   - Cache (this package): a TTL cache of lookups and successful logins in
//     go-memdb; see NewCache.
//
// directory/dirconfig builds the right one from config.Directory, and
// directory/directorytest is the conformance suite every implementation
// passes.
//
// # Schema
//
// A user is an entry with uid (the login name), mail, mailHost (from
// OpenLDAP's inetLocalMailRecipient: "host" or "host:port"; the proxy adds
// proxy.backendport when there is no port), and from the msgplex schema
// (deploy/ldap/msgplex.schema) mailUserStatus and mailQuota (bytes).
//
// # Statuses
//
// mailUserStatus is one of active, inactive, disabled, deleted, removed,
// hold, overquota; a missing value is active. Status.Refusal decides access:
// active and overquota may log in (an over-quota user can still read and
// delete mail); hold and inactive are temporary refusals (the account is
// being moved or not yet ready: the client may try again later); disabled,
// deleted and removed are permanent. An unknown value is refused
// temporarily: fail closed, without telling a client its account is gone.
//
// # Errors
//
// Backends return errors that wrap exactly one of ErrNoSuchUser,
// ErrBadPassword or ErrUnavailable, tested with errors.Is. ErrUnavailable
// (directory down, timed out, misconfigured) must never be reported to a
// client, a throttle or a cache as a bad password.
//
// # Names
//
// Every implementation rejects, before any I/O, names that CheckName
// refuses (empty, longer than MaxNameLen bytes, not UTF-8, control
// characters) with ErrNoSuchUser; the LDAP backend escapes every name with
// ldap.EscapeFilter besides. Authenticate refuses an empty password with
// ErrBadPassword before any I/O (an LDAP simple bind with an empty password
// is an "unauthenticated bind" that succeeds).
package directory

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Status is a user's mailUserStatus.
type Status string

const (
	StatusActive    Status = "active"
	StatusInactive  Status = "inactive"
	StatusDisabled  Status = "disabled"
	StatusDeleted   Status = "deleted"
	StatusRemoved   Status = "removed"
	StatusHold      Status = "hold"
	StatusOverQuota Status = "overquota"
)

// ParseStatus turns an attribute value into a Status: trimmed, lower-case,
// and empty means active.
func ParseStatus(v string) Status {
	v = strings.ToLower(strings.TrimSpace(v))
	if v == "" {
		return StatusActive
	}
	return Status(v)
}

// Refusal says whether a user with this status is refused at login and,
// if so, whether permanently. refused is false for active and overquota;
// hold, inactive and unknown values are temporary refusals; disabled,
// deleted and removed are permanent.
func (s Status) Refusal() (permanent, refused bool) {
	switch s {
	case StatusActive, StatusOverQuota, "":
		return false, false
	case StatusDisabled, StatusDeleted, StatusRemoved:
		return true, true
	default: // hold, inactive, unknown
		return false, true
	}
}

// User is what the directory knows about a user.
type User struct {
	UID      string // the login name as stored
	DN       string
	Mail     string
	MailHost string // "host" or "host:port"
	Status   Status
	Quota    int64 // bytes, 0 = none
}

// Errors callers test for with errors.Is.
var (
	ErrNoSuchUser  = errors.New("directory: no such user")
	ErrBadPassword = errors.New("directory: invalid credentials")
	ErrUnavailable = errors.New("directory: unavailable")
)

// Directory is implemented by the LDAP and LDIF backends and the cache.
// Implementations are safe for concurrent use.
type Directory interface {
	// Lookup finds a user by login name.
	Lookup(ctx context.Context, name string) (User, error)
	// Authenticate checks a password and returns the user. It does not
	// look at the status: that is the caller's decision (Status.Refusal).
	Authenticate(ctx context.Context, name, password string) (User, error)
	// Close releases connections.
	Close() error
}

// Reloader is implemented by directories that can re-read their source
// (the LDIF file; the cache, which also forgets what it holds). The proxy
// calls Reload on SIGHUP.
type Reloader interface {
	Reload() error
}

// MaxNameLen is the longest login name, in bytes, any backend accepts.
const MaxNameLen = 256

// CheckName returns an error wrapping ErrNoSuchUser for a name no user can
// have: empty, longer than MaxNameLen bytes, invalid UTF-8, or containing
// control characters. Backends call it before any I/O.
func CheckName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("empty name: %w", ErrNoSuchUser)
	case len(name) > MaxNameLen:
		return fmt.Errorf("name of %d bytes: %w", len(name), ErrNoSuchUser)
	case !utf8.ValidString(name):
		return fmt.Errorf("name not UTF-8: %w", ErrNoSuchUser)
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return fmt.Errorf("control character in name: %w", ErrNoSuchUser)
		}
	}
	return nil
}

// CheckCredentials is CheckName plus the empty-password rule of
// Authenticate.
func CheckCredentials(name, password string) error {
	if err := CheckName(name); err != nil {
		return err
	}
	if password == "" {
		return fmt.Errorf("empty password: %w", ErrBadPassword)
	}
	return nil
}
