package ldif

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"msgplex/directory"
	"msgplex/directory/directorytest"
)

func writeUsers(t *testing.T, users []directorytest.TestUser) string {
	t.Helper()
	text, err := directorytest.LDIF(directorytest.BaseDN, users)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "users.ldif")
	if err := os.WriteFile(p, []byte(directorytest.BaseLDIF+text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConformance(t *testing.T) {
	directorytest.Run(t, func(t *testing.T, users []directorytest.TestUser) directory.Directory {
		d, err := Open(Options{Path: writeUsers(t, users)})
		if err != nil {
			t.Fatal(err)
		}
		return d
	})
}

func TestConformanceCached(t *testing.T) {
	directorytest.Run(t, func(t *testing.T, users []directorytest.TestUser) directory.Directory {
		d, err := Open(Options{Path: writeUsers(t, users)})
		if err != nil {
			t.Fatal(err)
		}
		c, err := directory.NewCache(d, directory.CacheOptions{TTL: time.Minute, NegativeTTL: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return c
	})
}

func TestReload(t *testing.T) {
	users := directorytest.Users()[:2]
	p := writeUsers(t, users)
	d, err := Open(Options{Path: p})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := d.Authenticate(ctx, "alice", "alice-pw"); err != nil {
		t.Fatal(err)
	}
	// A password change and a new user appear after Reload.
	users[0].Password = "new-pw"
	users = append(users, directorytest.TestUser{UID: "zoe", Password: "z", Mail: "zoe@example.com", MailHost: "h"})
	text, _ := directorytest.LDIF(directorytest.BaseDN, users)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Authenticate(ctx, "alice", "new-pw"); !errors.Is(err, directory.ErrBadPassword) {
		t.Fatalf("before reload: %v", err)
	}
	if err := d.Reload(); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Authenticate(ctx, "alice", "new-pw"); err != nil {
		t.Fatalf("after reload: %v", err)
	}
	if _, err := d.Lookup(ctx, "zoe"); err != nil {
		t.Fatalf("new user after reload: %v", err)
	}
	// A broken file is refused and the previous data stays.
	for _, bad := range []string{
		"dn: uid=x\nuid: x\n nonsense-without-colon\n\nnot ldif at all\n",
		text + "dn: uid=alice2,ou=people,dc=example,dc=com\nuid: ALICE\n\n",
	} {
		if err := os.WriteFile(p, []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := d.Reload(); err == nil {
			t.Fatalf("Reload accepted %q", bad[:20])
		}
		if _, err := d.Authenticate(ctx, "alice", "new-pw"); err != nil {
			t.Fatalf("after failed reload: %v", err)
		}
	}
	os.Remove(p)
	if err := d.Reload(); err == nil {
		t.Fatal("Reload of a missing file succeeded")
	}
	if d.Len() != 3 {
		t.Fatalf("Len = %d", d.Len())
	}
}

// TestDeployFiles reads the shipped LDIF files: the quickstart's plain
// passwords and the slapd example's {SSHA} and {CRYPT} ones.
func TestDeployFiles(t *testing.T) {
	cases := []struct{ path, user, password string }{
		{"../../deploy/users.ldif", "alice", "alice-password"},
		{"../../deploy/users.ldif", "bob", "bob-password"},
		{"../../deploy/ldap/example.ldif", "alice", "alice-password"},
		{"../../deploy/ldap/example.ldif", "bob", "bob-password"},
	}
	for _, c := range cases {
		d, err := Open(Options{Path: c.path})
		if err != nil {
			t.Fatal(err)
		}
		u, err := d.Authenticate(context.Background(), c.user, c.password)
		if err != nil {
			t.Fatalf("%s %s: %v", c.path, c.user, err)
		}
		if u.MailHost == "" || u.Status != directory.StatusActive || u.Mail != c.user+"@example.com" {
			t.Fatalf("%s: %+v", c.path, u)
		}
	}
}

// TestSlapcatFormat reads what slapcat writes: version line, comments,
// folded lines, base64 values, operational attributes.
func TestSlapcatFormat(t *testing.T) {
	text := `version: 1

# a comment
dn: uid=folded,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: folded
mail: folded@exa
 mple.com
mailHost: store1
userPassword:: e1NIQX1LcTVzTmNsUHo3UVYyK2xmUUl1YzZSN29SdTA9
structuralObjectClass: inetOrgPerson
entryUUID: 0e4f1a1c-5b0b-103f-9d0a-9b3a0c8a8d3f
mailQuota: not-a-number

dn: cn=nouid,dc=example,dc=com
objectClass: organizationalRole
cn: nouid
`
	p := filepath.Join(t.TempDir(), "slapcat.ldif")
	os.WriteFile(p, []byte(text), 0o600)
	d, err := Open(Options{Path: p})
	if err != nil {
		t.Fatal(err)
	}
	u, err := d.Authenticate(context.Background(), "folded", "hello world")
	if err != nil {
		t.Fatal(err)
	}
	if u.Mail != "folded@example.com" || u.Quota != 0 || d.Len() != 1 {
		t.Fatalf("%+v len %d", u, d.Len())
	}
}

func TestLoginAttr(t *testing.T) {
	p := writeUsers(t, directorytest.Users()[:2])
	d, err := Open(Options{Path: p, Attr: "mail"})
	if err != nil {
		t.Fatal(err)
	}
	u, err := d.Lookup(context.Background(), "Bob@Example.com")
	if err != nil || u.UID != "bob" {
		t.Fatalf("%+v %v", u, err)
	}
	if _, err := d.Lookup(context.Background(), "bob"); !errors.Is(err, directory.ErrNoSuchUser) {
		t.Fatal(err)
	}
}
