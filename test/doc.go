// Package test holds cross-component and end-to-end tests: they run the
// built msgplex binary (internal/e2e) against real peers — go-imap's
// imapclient, Debian's mbsync, Python's imaplib, slapd, Dovecot.
package test
