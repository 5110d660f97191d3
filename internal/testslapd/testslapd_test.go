package testslapd

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/go-ldap/ldap/v3"
)

// TestExampleLDIF loads deploy/ldap/example.ldif (and so the msgplex
// schema) into a real slapd, checks a user bind, and survives a restart.
func TestExampleLDIF(t *testing.T) {
	schema, err := msgplexSchema()
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile(filepath.Join(filepath.Dir(schema), "example.ldif"))
	if err != nil {
		t.Fatal(err)
	}
	s := Start(t, string(example))
	check := func() {
		t.Helper()
		c, err := ldap.DialURL(s.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Bind("uid=alice,ou=people,dc=example,dc=com", "alice-password"); err != nil {
			t.Fatalf("alice bind: %v", err)
		}
		if err := c.Bind("uid=bob,ou=people,dc=example,dc=com", "bob-password"); err != nil {
			t.Fatalf("bob bind ({CRYPT}): %v", err)
		}
		res, err := c.Search(ldap.NewSearchRequest(s.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
			"(&(objectClass=msgplexUser)(mailUserStatus=active))", []string{"uid", "mailQuota"}, nil))
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Entries) != 2 {
			t.Fatalf("entries = %d", len(res.Entries))
		}
	}
	check()
	if err := s.SetPassword("uid=alice,ou=people,dc=example,dc=com", "changed"); err != nil {
		t.Fatal(err)
	}
	s.Restart()
	c, err := ldap.DialURL(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Bind("uid=alice,ou=people,dc=example,dc=com", "changed"); err != nil {
		t.Fatalf("after restart: %v", err)
	}
}

// TestUsersLDIF checks that the quickstart file deploy/users.ldif is valid
// for slapd too.
func TestUsersLDIF(t *testing.T) {
	schema, err := msgplexSchema()
	if err != nil {
		t.Fatal(err)
	}
	users, err := os.ReadFile(filepath.Join(filepath.Dir(schema), "..", "users.ldif"))
	if err != nil {
		t.Fatal(err)
	}
	s := Start(t, string(users))
	c, err := ldap.DialURL(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Bind("uid=bob,ou=people,dc=example,dc=com", "bob-password"); err != nil {
		t.Fatal(err)
	}
}
