package dirconfig

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"msgplex/config"
	"msgplex/directory"
	"msgplex/directory/directorytest"
	"msgplex/internal/testslapd"
)

func conf(t *testing.T, text string) config.Directory {
	t.Helper()
	c, err := config.Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	return c.Directory
}

func TestLDIF(t *testing.T) {
	users := directorytest.Users()[:2]
	text, _ := directorytest.LDIF(directorytest.BaseDN, users)
	p := filepath.Join(t.TempDir(), "users.ldif")
	os.WriteFile(p, []byte(text), 0o600)
	ctx := context.Background()

	d, err := Open(ctx, conf(t, "[directory]\nurl = \"ldif:"+p+"\"\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, ok := d.(*directory.Cache); !ok {
		t.Fatalf("default cachettl should wrap in the cache, got %T", d)
	}
	if _, err := d.Authenticate(ctx, "alice", "alice-pw"); err != nil {
		t.Fatal(err)
	}
	if _, ok := d.(directory.Reloader); !ok {
		t.Fatal("not a Reloader")
	}

	d2, err := Open(ctx, conf(t, "[directory]\nurl = \"ldif:"+p+"\"\ncachettl = \"0s\"\nsearchformat = \"(mail=%s)\"\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	if _, ok := d2.(*directory.Cache); ok {
		t.Fatal("cachettl 0 still caches")
	}
	if u, err := d2.Lookup(ctx, "bob@example.com"); err != nil || u.UID != "bob" {
		t.Fatalf("%+v %v", u, err)
	}

	for _, bad := range []string{
		"[directory]\nurl = \"ldif:/nonexistent/users.ldif\"\n",
		"[directory]\nurl = \"ldif:" + p + "\"\nsearchformat = \"(|(uid=%s)(mail=%s))\"\n",
		"[directory]\nurl = \"http://x\"\n",
		"[directory]\nurl = \" \"\n",
	} {
		if d, err := Open(ctx, conf(t, bad), nil); err == nil {
			d.Close()
			t.Errorf("accepted %q", bad)
		}
	}
}

func TestLDAP(t *testing.T) {
	text, _ := directorytest.LDIF(directorytest.BaseDN, directorytest.Users()[:2])
	s := testslapd.Start(t, text)
	c := conf(t, "[directory]\nurl = \"ldap://127.0.0.1:1 "+s.URL+"\"\nbinddn = \""+s.AdminDN+"\"\nbindpassword = \""+s.AdminPassword+"\"\ntimeout = \"5s\"\n")
	d, err := Open(context.Background(), c, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Authenticate(context.Background(), "bob", "bob pw 2"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Authenticate(context.Background(), "bob", "nope"); !errors.Is(err, directory.ErrBadPassword) {
		t.Fatal(err)
	}
	if err := d.(directory.Reloader).Reload(); err != nil {
		t.Fatal(err)
	}
}
