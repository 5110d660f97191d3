// Package ldif is the LDIF-file directory backend, directory.url
// "ldif:PATH": the quickstart default and enough for a small site.
//
// The file is LDIF (RFC 2849) as slapcat writes it and slapadd reads it, so
// one file serves both this backend and a real slapd (deploy/users.ldif).
// Every entry with a value of the login attribute (uid unless the search
// format names another, see Options.Attr) is a user; other entries (the
// base, organizational units) are ignored. The user's attributes are those
// of the LDAP backend (see directory/internal/entry). userPassword may be
// plain text or any scheme directory/passwd understands ({SSHA}, {SHA},
// {CRYPT}$6$..., ...); several values are several valid passwords.
//
// Invariants: login names match case-insensitively, as LDAP's uid does; a
// login value held by two entries makes the file invalid (no guessing
// which user is meant); the data in use is replaced only by a complete,
// valid reading of the file, so a failed Reload keeps serving the previous
// data. Lookups take no locks (an atomic pointer to immutable maps).
package ldif

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"

	goldif "github.com/go-ldap/ldif"

	"msgplex/directory"
	"msgplex/directory/internal/entry"
	"msgplex/directory/passwd"
)

// Options configures Open.
type Options struct {
	// Path is the LDIF file.
	Path string
	// Attr is the login attribute; default uid.
	Attr string
	// Log receives warnings (bad values in the file); nil discards.
	Log *slog.Logger
}

// Dir is the LDIF directory. It implements directory.Directory and
// directory.Reloader.
type Dir struct {
	opts  Options
	users atomic.Pointer[map[string]record]
}

type record struct {
	user      directory.User
	passwords []string
}

// Open reads the file.
func Open(o Options) (*Dir, error) {
	if o.Attr == "" {
		o.Attr = entry.UID
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	d := &Dir{opts: o}
	if err := d.Reload(); err != nil {
		return nil, err
	}
	return d, nil
}

// Reload re-reads the file; on error the previous data stays in use.
func (d *Dir) Reload() error {
	data, err := os.ReadFile(d.opts.Path)
	if err != nil {
		return fmt.Errorf("ldif directory: %w", err)
	}
	users, err := d.parse(string(data))
	if err != nil {
		return fmt.Errorf("ldif directory %s: %w", d.opts.Path, err)
	}
	d.users.Store(&users)
	return nil
}

func (d *Dir) parse(text string) (map[string]record, error) {
	l, err := goldif.Parse(text)
	if err != nil {
		return nil, err
	}
	users := map[string]record{}
	for _, e := range l.AllEntries() {
		names := e.GetEqualFoldAttributeValues(d.opts.Attr)
		if len(names) == 0 {
			continue
		}
		u, bad := entry.User(e, names[0])
		if bad {
			d.opts.Log.Warn("ldif directory: mailQuota is not a byte count; no quota", "dn", e.DN)
		}
		r := record{user: u, passwords: e.GetEqualFoldAttributeValues(entry.Password)}
		for _, n := range names {
			key := strings.ToLower(n)
			if prev, dup := users[key]; dup {
				return nil, fmt.Errorf("%s %q held by both %q and %q", d.opts.Attr, n, prev.user.DN, e.DN)
			}
			users[key] = r
		}
	}
	return users, nil
}

func (d *Dir) find(name string) (record, error) {
	if err := directory.CheckName(name); err != nil {
		return record{}, err
	}
	r, ok := (*d.users.Load())[strings.ToLower(name)]
	if !ok {
		return record{}, fmt.Errorf("%q: %w", name, directory.ErrNoSuchUser)
	}
	return r, nil
}

// Lookup implements directory.Directory.
func (d *Dir) Lookup(ctx context.Context, name string) (directory.User, error) {
	r, err := d.find(name)
	return r.user, err
}

// Authenticate implements directory.Directory. Every stored password is
// tried, so the time taken does not tell which one matched.
func (d *Dir) Authenticate(ctx context.Context, name, password string) (directory.User, error) {
	if err := directory.CheckCredentials(name, password); err != nil {
		return directory.User{}, err
	}
	r, err := d.find(name)
	if err != nil {
		return directory.User{}, err
	}
	ok := false
	for _, p := range r.passwords {
		if passwd.Verify(p, password) {
			ok = true
		}
	}
	if !ok {
		return directory.User{}, fmt.Errorf("%q: %w", name, directory.ErrBadPassword)
	}
	return r.user, nil
}

// Len returns the number of login names known.
func (d *Dir) Len() int { return len(*d.users.Load()) }

// Close implements directory.Directory; there is nothing to release.
func (d *Dir) Close() error { return nil }
