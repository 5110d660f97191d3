// Package directory says who a user is and where the user's mail lives.
// (Contract stub: the implementer documents backends, cache and statuses.)
package directory

import (
	"context"
	"errors"
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
type Directory interface {
	// Lookup finds a user by login name.
	Lookup(ctx context.Context, name string) (User, error)
	// Authenticate checks a password and returns the user.
	Authenticate(ctx context.Context, name, password string) (User, error)
	// Close releases connections.
	Close() error
}
