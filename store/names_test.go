package store

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

func TestValidateName(t *testing.T) {
	long := strings.Repeat("a", MaxNameLen)
	tests := []struct {
		in, want string // want "" means invalid
	}{
		{"INBOX", "INBOX"},
		{"inbox", "INBOX"},
		{"InBoX", "INBOX"},
		{"inbox/Sub", "INBOX/Sub"},
		{"Inboxes", "Inboxes"},
		{"Work/Project", "Work/Project"},
		{"Entwürfe", "Entwürfe"},
		{"100%", "100%"},
		{".hidden", ".hidden"},
		{"a.b/..c/d..", "a.b/..c/d.."},
		{long, long},
		{long + "b", ""},
		{strings.Repeat("a/", 63) + "aaa", strings.Repeat("a/", 63) + "aaa"}, // 255 bytes escaped
		{strings.Repeat("a/", 63) + "aaaa", ""},                              // 256 bytes escaped
		{strings.Repeat("%", 86), ""},
		{"", ""},
		{"..", ""},
		{".", ""},
		{"../x", ""},
		{"a/../../b", ""},
		{"a/./b", ""},
		{"a/..", ""},
		{"/etc/passwd", ""},
		{"a/", ""},
		{"a//b", ""},
		{"/", ""},
		{"\x00", ""},
		{"a\x00b", ""},
		{"a\nb", ""},
		{"a\rb", ""},
		{"tab\there", ""},
		{"del\x7f", ""},
		{"c1\u0085", ""},
		{"bad\xff\xfe", ""},
	}
	for _, tt := range tests {
		got, err := ValidateName(tt.in)
		if tt.want == "" {
			if err == nil || !errors.Is(err, ErrBadName) {
				t.Errorf("ValidateName(%q) = %q, %v; want ErrBadName", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ValidateName(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestValidateUser(t *testing.T) {
	good := []string{"alice", "bob.smith", "a-b_c", "user@example.com", "=x", strings.Repeat("u", MaxUserLen)}
	bad := []string{"", "..", "a..b", "../etc", "a/b", "/", "a\x00", "\x00", "a\nb", "\x7f", "bad\xff",
		strings.Repeat("u", MaxUserLen+1)}
	for _, u := range good {
		if err := ValidateUser(u); err != nil {
			t.Errorf("ValidateUser(%q) = %v", u, err)
		}
	}
	for _, u := range bad {
		if err := ValidateUser(u); !errors.Is(err, ErrBadUser) {
			t.Errorf("ValidateUser(%q) = %v, want ErrBadUser", u, err)
		}
	}
}

func TestEscapeFolder(t *testing.T) {
	tests := []struct{ name, dir string }{
		{"INBOX", "INBOX"},
		{"Work/Project", "Work%2FProject"},
		{"100%/x", "100%25%2Fx"},
		{".hidden", "%2Ehidden"},
		{"a.b/.c", "a.b%2F.c"},
		{"%2F", "%252F"},
		{"Entwürfe", "Entwürfe"},
	}
	for _, tt := range tests {
		if got := EscapeFolder(tt.name); got != tt.dir {
			t.Errorf("EscapeFolder(%q) = %q, want %q", tt.name, got, tt.dir)
		}
		if got, ok := UnescapeFolder(tt.dir); !ok || got != tt.name {
			t.Errorf("UnescapeFolder(%q) = %q, %v; want %q", tt.dir, got, ok, tt.name)
		}
		if strings.ContainsAny(EscapeFolder(tt.name), "/") {
			t.Errorf("EscapeFolder(%q) contains a slash", tt.name)
		}
	}
	for _, dir := range []string{"", ".deleted.1.2", "%2", "%41", "a%2Eb", "a/b", "%zz"} {
		if n, ok := UnescapeFolder(dir); ok {
			t.Errorf("UnescapeFolder(%q) = %q, want not ok", dir, n)
		}
	}
}

func TestLayout(t *testing.T) {
	root := t.TempDir()
	s, err := Open(Options{DataRoot: root})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sum := sha256.Sum256([]byte("alice"))
	h1, h2 := fmt.Sprintf("%02x", sum[0]), fmt.Sprintf("%02x", sum[1])
	wantUser := filepath.Join(root, "partition", "primary", "=user", h1, h2, "=alice")
	if got := s.UserDir("alice"); got != wantUser {
		t.Fatalf("UserDir = %q, want %q", got, wantUser)
	}
	if got, want := s.FolderDir("alice", "Work/Project"), filepath.Join(wantUser, "Work%2FProject"); got != want {
		t.Fatalf("FolderDir = %q, want %q", got, want)
	}
	if got, want := s.FolderDir("alice", "INBOX"), filepath.Join(wantUser, "INBOX"); got != want {
		t.Fatalf("FolderDir = %q, want %q", got, want)
	}
	// Hostile or non-canonical input never yields a path.
	for _, c := range [][2]string{{"alice", "../x"}, {"alice", "a/../../b"}, {"../alice", "INBOX"}, {"alice", "inbox"}, {"a/b", "INBOX"}} {
		if got := s.FolderDir(c[0], c[1]); got != "" {
			t.Errorf("FolderDir(%q, %q) = %q, want empty", c[0], c[1], got)
		}
	}
	// Every valid name stays inside the user's directory.
	for _, n := range []string{"..a", "a..", ".", "x/y/z", "%2E%2E", ".../b"} {
		c, err := ValidateName(n)
		if err != nil {
			continue
		}
		d := s.FolderDir("alice", c)
		if filepath.Dir(d) != wantUser {
			t.Errorf("FolderDir(alice, %q) = %q escapes the user directory", c, d)
		}
	}
	if got, want := filepath.Join(root, "store", "mboxlist", "mboxlist.db"), s.List().Path(); got != want {
		t.Fatalf("mboxlist at %q, want %q", want, got)
	}
}

func FuzzValidateName(f *testing.F) {
	for _, s := range []string{"INBOX", "a/b", "../x", ".hidden", "%2F"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		c, err := ValidateName(name)
		if err != nil {
			return
		}
		d := EscapeFolder(c)
		if strings.Contains(d, "/") || d == "." || d == ".." || strings.HasPrefix(d, ".") {
			t.Fatalf("name %q -> dir %q", c, d)
		}
		if back, ok := UnescapeFolder(d); !ok || back != c {
			t.Fatalf("round trip %q -> %q -> %q %v", c, d, back, ok)
		}
	})
}

// Every name ValidateName accepts can be created on disk: the longest
// ones, with escaped "/" and "%", do not fail with ENAMETOOLONG.
func TestLongestNamesCreate(t *testing.T) {
	s := openStore(t, t.TempDir())
	ctx := t.Context()
	for _, name := range []string{
		strings.Repeat("x", MaxNameLen),
		strings.Repeat("a/", 63) + "aaa",
		strings.Repeat("%", 85),
	} {
		if _, err := ValidateName(name); err != nil {
			t.Fatalf("%q: %v", name, err)
		}
		if err := s.CreateFolder(ctx, "alice", name, CreateOptions{}); err != nil {
			t.Errorf("create %d-byte name: %v", len(name), err)
		}
	}
}
