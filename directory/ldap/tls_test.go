package ldap

import (
	"context"
	"crypto/tls"
	"errors"
	"testing"

	"msgplex/directory"
	"msgplex/directory/directorytest"
	"msgplex/internal/testslapd"
)

// TestTLS logs in over ldaps:// and over ldap:// with StartTLS, and checks
// that an untrusted certificate makes the directory unavailable rather
// than letting a password go in the clear.
func TestTLS(t *testing.T) {
	text, err := directorytest.LDIF(directorytest.BaseDN, directorytest.Users()[:2])
	if err != nil {
		t.Fatal(err)
	}
	s := testslapd.StartWith(t, text, testslapd.Options{TLS: true})
	trusted := &tls.Config{RootCAs: s.RootCAs}
	for _, o := range []Options{
		{URLs: []string{s.LDAPSURL}, TLSConfig: trusted},
		{URLs: []string{s.URL}, StartTLS: true, TLSConfig: trusted, BindDN: s.AdminDN, BindPassword: s.AdminPassword},
	} {
		d := newDir(t, o)
		if _, err := d.Authenticate(context.Background(), alice.UID, alice.Password); err != nil {
			t.Fatalf("%v starttls=%v: %v", o.URLs, o.StartTLS, err)
		}
	}
	for _, o := range []Options{
		{URLs: []string{s.LDAPSURL}},
		{URLs: []string{s.URL}, StartTLS: true},
	} {
		d := newDir(t, o)
		if _, err := d.Authenticate(context.Background(), alice.UID, alice.Password); !errors.Is(err, directory.ErrUnavailable) {
			t.Fatalf("%v starttls=%v with an untrusted certificate: %v", o.URLs, o.StartTLS, err)
		}
	}
}
