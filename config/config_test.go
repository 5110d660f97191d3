package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDefaultsValid(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Store.CleanupSize != 100 || c.Store.Purge.Count != 500 || c.Store.Purge.Percentage != 5 || !c.Store.Purge.Enable {
		t.Fatalf("maintenance defaults differ from DESIGN.md: %+v", c.Store)
	}
	if c.Directory.SearchFormat != "(uid=%s)" {
		t.Fatalf("searchformat default %q", c.Directory.SearchFormat)
	}
	if c.Proxy.IdleTimeout.D() <= 30*time.Minute {
		t.Fatalf("proxy idle timeout %v must exceed IMAP's 30 minutes", c.Proxy.IdleTimeout)
	}
}

func TestParseDottedAndTables(t *testing.T) {
	c, err := Parse(`
service.imap.numprocesses = 4
service.imap.vmbudget = "64MiB"
store.purge.count = 7
[store]
dataroot = "/tmp/x"
cleanupage = "2h"
[proxy]
connlimits = 3
maxlinelength = 1024
`)
	if err != nil {
		t.Fatal(err)
	}
	if c.Service.IMAP.NumProcesses != 4 || c.Service.IMAP.VMBudget != 64<<20 {
		t.Fatalf("service: %+v", c.Service.IMAP)
	}
	if c.Store.Purge.Count != 7 || c.Store.DataRoot != "/tmp/x" || c.Store.CleanupAge.D() != 2*time.Hour {
		t.Fatalf("store: %+v", c.Store)
	}
	if c.Proxy.ConnLimits != 3 || c.Proxy.MaxLineLength != 1024 {
		t.Fatalf("proxy: %+v", c.Proxy)
	}
	// Untouched keys keep their defaults.
	if c.Store.Purge.Percentage != 5 || c.Proxy.BackendPort != 143 {
		t.Fatal("defaults lost")
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"store.cleanupsise = 3", "unknown keys: store.cleanupsise"},
		{"service.imap.numprocesses = 0", "numprocesses"},
		{`service.imap.vmbudget = "lots"`, "bad size"},
		{`store.cleanupage = "soon"`, "invalid duration"},
		{"store.purge.percentage = 200", "percentage"},
		{"[store", "toml"},
	} {
		_, err := Parse(tc.text)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %v, want error containing %q", tc.text, err, tc.want)
		}
	}
}

func TestLoad(t *testing.T) {
	p := filepath.Join(t.TempDir(), "m.toml")
	if err := os.WriteFile(p, []byte("store.dataroot = \"/srv/mail\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(p)
	if err != nil || c.Store.DataRoot != "/srv/mail" {
		t.Fatalf("Load: %v %+v", err, c.Store)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.toml")); err == nil {
		t.Fatal("missing file accepted")
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"10": 10, "1KiB": 1024, "2 MiB": 2 << 20, "1GiB": 1 << 30, "5MB": 5e6} {
		got, err := ParseSize(in)
		if err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "-1", "1XB", "MiB", "9000000TiB", "9223372036854775808"} {
		if _, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q) accepted", bad)
		}
	}
}
