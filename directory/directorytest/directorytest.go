// Package directorytest is the conformance suite every directory.Directory
// passes: the LDIF backend, the LDAP backend against a real slapd, and the
// cache wrapped around each.
//
// Run hands newDir the users it needs (Users); newDir builds a directory
// holding exactly them (LDIF helps write the entries) and the suite checks
// lookups, passwords, unknown and hostile names, statuses, mail hosts with
// and without a port, and concurrent use.
package directorytest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"msgplex/directory"
	"msgplex/directory/passwd"
	"msgplex/internal/testslapd"
)

// BaseDN is where the suite's users live (under ou=people).
const BaseDN = "dc=example,dc=com"

// BaseLDIF is the base entry and ou=people, for a complete file.
const BaseLDIF = testslapd.BaseLDIF

// TestUser is one user of the suite.
type TestUser struct {
	UID      string
	Password string // the password a client types
	Scheme   string // how userPassword is stored: "" plain, "{SSHA}", "{SHA}", "{CRYPT}"
	Mail     string
	MailHost string
	Status   directory.Status // "" = no mailUserStatus attribute
	Quota    int64            // 0 = no mailQuota attribute
}

// DN is the user's entry under ou=people of base.
func (u TestUser) DN(base string) string { return "uid=" + u.UID + ",ou=people," + base }

// Users returns the suite's users.
func Users() []TestUser {
	u := func(uid, pw, scheme, host string, st directory.Status, quota int64) TestUser {
		return TestUser{UID: uid, Password: pw, Scheme: scheme, Mail: strings.ToLower(uid) + "@example.com", MailHost: host, Status: st, Quota: quota}
	}
	return []TestUser{
		u("alice", "alice-pw", "", "store1.example.com", "", 1<<30),
		u("bob", "bob pw 2", "{SSHA}", "store2.example.com:1143", directory.StatusActive, 0),
		u("carol", "carol-pw", "{CRYPT}", "store1.example.com", directory.StatusHold, 0),
		u("dave", "dave-pw", "{SHA}", "store1.example.com", directory.StatusInactive, 0),
		u("erin", "erin-pw", "", "store1.example.com", directory.StatusDisabled, 0),
		u("frank", "frank-pw", "", "store1.example.com", directory.StatusDeleted, 0),
		u("grace", "grace-pw", "", "store1.example.com", directory.StatusRemoved, 0),
		u("heidi", "heidi-pw", "{SSHA}", "[::1]:143", directory.StatusOverQuota, 5000),
		u("admin", "admin-pw", "", "store9.example.com", "", 0),
		u("Ivan", "pä ss*)(uid=*", "{CRYPT}", "store1.example.com", "", 0),
	}
}

// LDIF writes users as inetOrgPerson + inetLocalMailRecipient +
// msgplexUser entries under ou=people of base, passwords stored as each
// user's Scheme says. It does not write the base or ou=people entries.
func LDIF(base string, users []TestUser) (string, error) {
	var b strings.Builder
	for _, u := range users {
		stored, err := passwd.Hash(u.Scheme, u.Password)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "dn: %s\nobjectClass: top\nobjectClass: inetOrgPerson\nobjectClass: inetLocalMailRecipient\nobjectClass: msgplexUser\n", u.DN(base))
		fmt.Fprintf(&b, "uid: %s\ncn: %s\nsn: %s\nmail: %s\nmailHost: %s\n", u.UID, u.UID, u.UID, u.Mail, u.MailHost)
		if u.Status != "" {
			fmt.Fprintf(&b, "mailUserStatus: %s\n", u.Status)
		}
		if u.Quota != 0 {
			fmt.Fprintf(&b, "mailQuota: %d\n", u.Quota)
		}
		// Base64 (::) keeps non-ASCII and special characters intact.
		fmt.Fprintf(&b, "userPassword:: %s\n\n", b64(stored))
	}
	return b.String(), nil
}

// HostileNames are login names that must never match anyone.
func HostileNames() []string {
	return []string{
		"*", "*)(uid=*", "admin)(|(uid=*", "alice)(uid=*", "al*", "*alice*",
		"(", ")", `\`, `alice\`, "alice\x00", "\x00", "alice\n", "",
		strings.Repeat("a", 10<<10), "\xff\xfe", "alice\xff",
		"uid=alice,ou=people,dc=example,dc=com",
	}
}

// Run runs the suite.
func Run(t *testing.T, newDir func(t *testing.T, users []TestUser) directory.Directory) {
	users := Users()
	d := newDir(t, users)
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	t.Run("Lookup", func(t *testing.T) { testLookup(t, d, users) })
	t.Run("Authenticate", func(t *testing.T) { testAuthenticate(t, d, users) })
	t.Run("BadPassword", func(t *testing.T) { testBadPassword(t, d, users) })
	t.Run("Unknown", func(t *testing.T) { testUnknown(t, d) })
	t.Run("Hostile", func(t *testing.T) { testHostile(t, d) })
	t.Run("CaseInsensitive", func(t *testing.T) { testCase(t, d) })
	t.Run("Concurrent", func(t *testing.T) { testConcurrent(t, d, users) })
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func checkUser(t *testing.T, got directory.User, want TestUser) {
	t.Helper()
	st := want.Status
	if st == "" {
		st = directory.StatusActive
	}
	if got.UID != want.UID || got.Mail != want.Mail || got.MailHost != want.MailHost || got.Status != st || got.Quota != want.Quota {
		t.Errorf("user %s = %+v, want uid %s mail %s mailhost %s status %s quota %d",
			want.UID, got, want.UID, want.Mail, want.MailHost, st, want.Quota)
	}
	if !strings.EqualFold(got.DN, want.DN(BaseDN)) {
		t.Errorf("user %s: DN %q, want %q", want.UID, got.DN, want.DN(BaseDN))
	}
}

func testLookup(t *testing.T, d directory.Directory, users []TestUser) {
	for _, u := range users {
		for range 2 { // the second time may come from a cache
			got, err := d.Lookup(ctx(t), u.UID)
			if err != nil {
				t.Fatalf("Lookup(%s): %v", u.UID, err)
			}
			checkUser(t, got, u)
		}
	}
}

func testAuthenticate(t *testing.T, d directory.Directory, users []TestUser) {
	for _, u := range users {
		for range 2 {
			got, err := d.Authenticate(ctx(t), u.UID, u.Password)
			if err != nil {
				t.Fatalf("Authenticate(%s) with %s password: %v", u.UID, u.Scheme, err)
			}
			checkUser(t, got, u)
		}
	}
}

func testBadPassword(t *testing.T, d directory.Directory, users []TestUser) {
	for _, u := range users {
		// Log in right first, so that a cache holds the user.
		if _, err := d.Authenticate(ctx(t), u.UID, u.Password); err != nil {
			t.Fatal(err)
		}
		other := users[0].Password
		if u.UID == users[0].UID {
			other = users[1].Password
		}
		for _, wrong := range []string{u.Password + "x", u.Password[:len(u.Password)-1], strings.ToUpper(u.Password), other, "", " ", "*"} {
			for range 2 {
				_, err := d.Authenticate(ctx(t), u.UID, wrong)
				if !errors.Is(err, directory.ErrBadPassword) {
					t.Fatalf("Authenticate(%s, %q) = %v, want ErrBadPassword", u.UID, wrong, err)
				}
				if errors.Is(err, directory.ErrUnavailable) || errors.Is(err, directory.ErrNoSuchUser) {
					t.Fatalf("Authenticate(%s, %q) = %v: more than one class", u.UID, wrong, err)
				}
			}
		}
	}
}

func testUnknown(t *testing.T, d directory.Directory) {
	for _, name := range []string{"nobody", "alic", "alicee", "zed@example.com"} {
		for range 2 {
			if _, err := d.Lookup(ctx(t), name); !errors.Is(err, directory.ErrNoSuchUser) {
				t.Errorf("Lookup(%q) = %v, want ErrNoSuchUser", name, err)
			}
			if _, err := d.Authenticate(ctx(t), name, "alice-pw"); !errors.Is(err, directory.ErrNoSuchUser) {
				t.Errorf("Authenticate(%q) = %v, want ErrNoSuchUser", name, err)
			}
		}
	}
}

func testHostile(t *testing.T, d directory.Directory) {
	for _, name := range HostileNames() {
		short := name
		if len(short) > 40 {
			short = short[:40] + "…"
		}
		if u, err := d.Lookup(ctx(t), name); !errors.Is(err, directory.ErrNoSuchUser) {
			t.Errorf("Lookup(%q) = %+v, %v; want ErrNoSuchUser", short, u, err)
		}
		for _, pw := range []string{"alice-pw", "admin-pw", "*"} {
			u, err := d.Authenticate(ctx(t), name, pw)
			if err == nil || errors.Is(err, directory.ErrUnavailable) {
				t.Errorf("Authenticate(%q, %q) = %+v, %v; want ErrNoSuchUser or ErrBadPassword", short, pw, u, err)
			}
		}
	}
}

func testCase(t *testing.T, d directory.Directory) {
	for _, name := range []string{"ALICE", "Alice", "ivan", "IVAN"} {
		u, err := d.Lookup(ctx(t), name)
		if err != nil {
			t.Fatalf("Lookup(%q): %v", name, err)
		}
		if !strings.EqualFold(u.UID, name) {
			t.Errorf("Lookup(%q).UID = %q", name, u.UID)
		}
	}
	if _, err := d.Authenticate(ctx(t), "ALICE", "alice-pw"); err != nil {
		t.Errorf("Authenticate(ALICE): %v", err)
	}
}

func testConcurrent(t *testing.T, d directory.Directory, users []TestUser) {
	const workers, rounds = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				u := users[(w+i)%len(users)]
				c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				var err error
				switch i % 4 {
				case 0:
					_, err = d.Lookup(c, u.UID)
				case 1:
					_, err = d.Authenticate(c, u.UID, u.Password)
				case 2:
					if _, e := d.Authenticate(c, u.UID, "wrong"); !errors.Is(e, directory.ErrBadPassword) {
						err = fmt.Errorf("wrong password for %s: %v", u.UID, e)
					}
				case 3:
					if _, e := d.Lookup(c, "nobody"+u.UID); !errors.Is(e, directory.ErrNoSuchUser) {
						err = fmt.Errorf("unknown user: %v", e)
					}
				}
				cancel()
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
