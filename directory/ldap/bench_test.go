package ldap

import (
	"context"
	"testing"

	"msgplex/directory/directorytest"
	"msgplex/internal/testslapd"
)

// BenchmarkAuthenticate is an uncached login against a real slapd on
// loopback: a search on a pooled service connection and a bind on a
// reused password connection.
func BenchmarkAuthenticate(b *testing.B) {
	text, err := directorytest.LDIF(directorytest.BaseDN, directorytest.Users()[:2])
	if err != nil {
		b.Fatal(err)
	}
	s := testslapd.Start(b, text)
	d, err := New(Options{URLs: []string{s.URL}, BaseDN: directorytest.BaseDN, BindDN: s.AdminDN, BindPassword: s.AdminPassword})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := d.Authenticate(ctx, alice.UID, alice.Password); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkLookup is an uncached lookup: one search on a pooled service
// connection.
func BenchmarkLookup(b *testing.B) {
	text, err := directorytest.LDIF(directorytest.BaseDN, directorytest.Users()[:2])
	if err != nil {
		b.Fatal(err)
	}
	s := testslapd.Start(b, text)
	d, err := New(Options{URLs: []string{s.URL}, BaseDN: directorytest.BaseDN})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := d.Lookup(ctx, alice.UID); err != nil {
				b.Fatal(err)
			}
		}
	})
}
