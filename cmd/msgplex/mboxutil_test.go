package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMatchPattern(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"*", "user/alice", true},
		{"user/alice/*", "user/alice/Project", true},
		{"user/alice/*", "user/alice/a/b", true},
		{"user/alice/*", "user/alice", false},
		{"user/alice/%", "user/alice/a", true},
		{"user/alice/%", "user/alice/a/b", false},
		{"user/%", "user/alice", true},
		{"user/%", "user/alice/x", false},
		{"user/*/Sent", "user/bob/Sent", true},
		{"user/%/Sent", "user/bob/x/Sent", false},
		{"user/alice", "user/alice", true},
		{"user/alice", "user/alice2", false},
		{"user/a*e", "user/alice", true},
		{"%", "", true},
		{"", "x", false},
	}
	for _, tt := range tests {
		if got := matchPattern(tt.pattern, tt.name); got != tt.want {
			t.Errorf("matchPattern(%q, %q) = %v, want %v", tt.pattern, tt.name, got, tt.want)
		}
	}
}

func TestParseMailbox(t *testing.T) {
	good := map[string]mboxName{
		"user/alice":              {"alice", "INBOX"},
		"user/alice/Project":      {"alice", "Project"},
		"user/alice/inbox":        {"alice", "INBOX"},
		"user/alice/Work/Project": {"alice", "Work/Project"},
	}
	for in, want := range good {
		got, err := parseMailbox(in)
		if err != nil || got != want {
			t.Errorf("parseMailbox(%q) = %v, %v; want %v", in, got, err, want)
		}
		if in != "user/alice/inbox" && got.String() != in {
			t.Errorf("%q prints as %q", in, got.String())
		}
	}
	for _, in := range []string{"alice", "user/", "user//x", "user/../x", "user/a/../b", "user/a/", "shared/x", "user/a/b/../../c"} {
		if got, err := parseMailbox(in); err == nil {
			t.Errorf("parseMailbox(%q) = %v, want error", in, got)
		}
	}
}

func TestParseUIDSet(t *testing.T) {
	set, err := parseUIDSet("1:3,7,10:*,20:15")
	if err != nil {
		t.Fatal(err)
	}
	for uid, want := range map[uint32]bool{1: true, 3: true, 4: false, 7: true, 8: false, 10: true, 1 << 30: true} {
		if inSet(set, uid) != want {
			t.Errorf("inSet(%d) = %v", uid, !want)
		}
	}
	for _, bad := range []string{"0", "a", "1:b", "1,,2", ":5", "-1"} {
		if _, err := parseUIDSet(bad); err == nil {
			t.Errorf("parseUIDSet(%q) accepted", bad)
		}
	}
	if set, err := parseUIDSet(""); err != nil || set != nil {
		t.Errorf(`parseUIDSet("") = %v, %v`, set, err)
	}
}

// The commands' flag handling, in process, against a temp data root.
func TestMboxutilFlags(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.toml")
	if err := os.WriteFile(cfg, []byte("[store]\ndataroot = \""+filepath.Join(dir, "data")+"\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (string, int) {
		var out, errs bytes.Buffer
		code := mboxutil(append([]string{"--config", cfg}, args...), &out, &errs)
		return out.String() + errs.String(), code
	}
	for _, bad := range [][]string{{}, {"-l", "-d", "user/a"}, {"-r", "user/a/x"}, {"-c", "user/a/x", "extra"}, {"-m", "user/a", "user/a/b", "-u", "x"}} {
		if out, code := run(bad...); code != 2 {
			t.Errorf("mboxutil %v: exit %d (%s), want 2", bad, code, out)
		}
	}
	if out, code := run("-c", "user/zed/Box"); code != 0 || !strings.Contains(out, "created user/zed/Box") {
		t.Fatalf("create: %d %s", code, out)
	}
	if out, code := run("-l", "-p", "user/zed/*"); code != 0 || strings.TrimSpace(out) != "user/zed/Box" {
		t.Fatalf("list: %d %q", code, out)
	}
	if out, code := run("-r", "user/zed/Box", "user/zed/Crate"); code != 0 || !strings.Contains(out, "renamed user/zed/Box to user/zed/Crate") {
		t.Fatalf("rename: %d %s", code, out)
	}
	var out, errs bytes.Buffer
	if code := reconstruct([]string{"--config", cfg, "user/zed/Crate", "-r"}, &out, &errs); code != 0 ||
		!strings.Contains(out.String(), "user/zed/Crate: 0 kept, 0 added, 0 dropped") {
		t.Fatalf("reconstruct: %d %s %s", code, out.String(), errs.String())
	}
}
