package store

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on names.
const (
	// MaxNameLen bounds a folder name: its directory name (EscapeFolder,
	// where "/" takes 3 bytes) must fit the file system's NAME_MAX.
	MaxNameLen = 255
	MaxUserLen = 255 // bytes of a user id
)

// Inbox is the canonical name of every user's inbox.
const Inbox = "INBOX"

// ValidateName checks an IMAP folder name (UTF-8, "/" delimiter): no
// empty, "." or ".." segments, no NUL or control characters, at most
// MaxNameLen bytes as a directory name (EscapeFolder), not starting or
// ending with "/". "inbox" in any case is INBOX,
// also as the first segment of a longer name ("inbox/x" is "INBOX/x").
// Errors wrap ErrBadName.
func ValidateName(name string) (canonical string, err error) {
	bad := func(why string) (string, error) {
		return "", fmt.Errorf("%w %q: %s", ErrBadName, name, why)
	}
	switch {
	case name == "":
		return bad("empty")
	case len(name) > MaxNameLen:
		return bad(fmt.Sprintf("longer than %d bytes", MaxNameLen))
	case !utf8.ValidString(name):
		return bad("not UTF-8")
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return bad("control character")
	case strings.HasPrefix(name, "/") || strings.HasSuffix(name, "/"):
		return bad(`starts or ends with "/"`)
	}
	segs := strings.Split(name, "/")
	for _, s := range segs {
		switch s {
		case "":
			return bad("empty segment")
		case ".", "..":
			return bad(fmt.Sprintf("%q segment", s))
		}
	}
	if strings.EqualFold(segs[0], Inbox) {
		segs[0] = Inbox
	}
	canonical = strings.Join(segs, "/")
	if len(EscapeFolder(canonical)) > MaxNameLen {
		return bad(fmt.Sprintf("longer than %d bytes once \"/\" and \"%%\" are escaped", MaxNameLen))
	}
	return canonical, nil
}

// ValidateUser checks a user id used in paths: not empty, at most 255
// bytes, UTF-8, no "/", no "..", no NUL or other control characters.
// Errors wrap ErrBadUser.
func ValidateUser(uid string) error {
	why := ""
	switch {
	case uid == "":
		why = "empty"
	case len(uid) > MaxUserLen:
		why = fmt.Sprintf("longer than %d bytes", MaxUserLen)
	case !utf8.ValidString(uid):
		why = "not UTF-8"
	case strings.IndexFunc(uid, unicode.IsControl) >= 0:
		why = "control character"
	case strings.Contains(uid, "/"):
		why = `contains "/"`
	case strings.Contains(uid, ".."):
		why = `contains ".."`
	}
	if why != "" {
		return fmt.Errorf("%w %q: %s", ErrBadUser, uid, why)
	}
	return nil
}

// UserHash returns the two hash directory names of a user id: the first
// two bytes of SHA-256(uid), each as two lower-case hex digits.
func UserHash(uid string) (h1, h2 string) {
	sum := sha256.Sum256([]byte(uid))
	return hex.EncodeToString(sum[0:1]), hex.EncodeToString(sum[1:2])
}

// userDir is the user's directory under root (uid already validated).
func userDir(root, uid string) string {
	h1, h2 := UserHash(uid)
	return filepath.Join(root, "partition", PrimaryPartition, "=user", h1, h2, "="+uid)
}

// EscapeFolder turns a canonical folder name into its directory name:
// "%" becomes "%25", "/" becomes "%2F" and a leading "." becomes "%2E";
// every other byte is kept. Directory names starting with "." are thus
// never folders (the store uses them for its own work, e.g. ".deleted.*").
func EscapeFolder(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case c == '%':
			b.WriteString("%25")
		case c == '/':
			b.WriteString("%2F")
		case c == '.' && i == 0:
			b.WriteString("%2E")
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// UnescapeFolder reverses EscapeFolder; ok is false for a directory name
// EscapeFolder cannot have produced.
func UnescapeFolder(dir string) (name string, ok bool) {
	if dir == "" || dir[0] == '.' {
		return "", false
	}
	var b strings.Builder
	for i := 0; i < len(dir); i++ {
		c := dir[i]
		if c == '/' {
			return "", false
		}
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		if i+2 >= len(dir) {
			return "", false
		}
		switch dir[i+1 : i+3] {
		case "25":
			b.WriteByte('%')
		case "2F":
			b.WriteByte('/')
		case "2E":
			if i != 0 {
				return "", false
			}
			b.WriteByte('.')
		default:
			return "", false
		}
		i += 2
	}
	name = b.String()
	if EscapeFolder(name) != dir {
		return "", false
	}
	return name, true
}
