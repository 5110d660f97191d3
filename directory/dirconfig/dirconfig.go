// Package dirconfig builds the configured directory from config.Directory:
// "ldif:PATH" is the LDIF file backend, anything else a space-separated
// list of ldap:// or ldaps:// URLs for the LDAP backend; when
// directory.cachettl is positive the backend is wrapped in
// directory.Cache. The result implements directory.Reloader (the LDIF
// file is re-read, the cache emptied, LDAP connections redialled).
package dirconfig

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strings"

	"msgplex/config"
	"msgplex/directory"
	"msgplex/directory/ldap"
	"msgplex/directory/ldif"
)

// simpleFormat is the only search format the LDIF backend understands:
// one equality on one attribute.
var simpleFormat = regexp.MustCompile(`^\(([A-Za-z][A-Za-z0-9-]*)=%s\)$`)

// Open builds the directory. It does not contact an LDAP server: one that
// is down at start is tried again on every request.
func Open(ctx context.Context, c config.Directory, log *slog.Logger) (directory.Directory, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "directory")
	d, err := backend(c, log)
	if err != nil {
		return nil, err
	}
	if c.CacheTTL.D() <= 0 {
		return d, nil
	}
	cache, err := directory.NewCache(d, directory.CacheOptions{
		TTL: c.CacheTTL.D(), NegativeTTL: c.NegativeTTL.D(), Log: log,
	})
	if err != nil {
		d.Close()
		return nil, err
	}
	return cache, nil
}

func backend(c config.Directory, log *slog.Logger) (directory.Directory, error) {
	format := c.SearchFormat
	if format == "" {
		format = "(uid=%s)"
	}
	if path, ok := strings.CutPrefix(c.URL, "ldif:"); ok {
		m := simpleFormat.FindStringSubmatch(format)
		if m == nil {
			return nil, fmt.Errorf("directory.searchformat %q: the LDIF backend supports only (attribute=%%s)", format)
		}
		d, err := ldif.Open(ldif.Options{Path: path, Attr: m[1], Log: log})
		if err != nil {
			return nil, fmt.Errorf("directory.url %q: %w", c.URL, err)
		}
		return d, nil
	}
	urls := strings.Fields(c.URL)
	if len(urls) == 0 {
		return nil, fmt.Errorf("directory.url is empty")
	}
	d, err := ldap.New(ldap.Options{
		URLs: urls, BaseDN: c.BaseDN, BindDN: c.BindDN, BindPassword: c.BindPassword,
		SearchFormat: format, StartTLS: c.StartTLS, Timeout: c.Timeout.D(), Log: log,
	})
	if err != nil {
		return nil, fmt.Errorf("directory.url %q: %w", c.URL, err)
	}
	return d, nil
}
