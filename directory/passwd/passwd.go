// Package passwd checks a password against an LDAP userPassword value as
// OpenLDAP stores it (RFC 2307 / RFC 3112 "{SCHEME}data"):
//
//	{SSHA}     base64(SHA-1(password salt) salt)      slapd's default
//	{SHA}      base64(SHA-1(password))
//	{SSHA256}, {SHA256}, {SSHA512}, {SHA512}, {SMD5}, {MD5}: the same with
//	           other digests (slapd's pw-sha2 module, contrib/slapd-modules)
//	{CRYPT}    crypt(3): $1$ MD5-crypt, $5$ SHA-256-crypt, $6$ SHA-512-crypt,
//	           $2a$/$2b$/$2y$ bcrypt
//	{CLEARTEXT} or no scheme: the password itself
//
// Scheme names are case-insensitive. Every comparison of secret-derived
// bytes is constant-time; plain passwords are compared through their
// SHA-256 digests so that the length does not leak either. An unknown
// scheme or a malformed value never matches.
package passwd

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"hash"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// Verify reports whether password matches the stored userPassword value.
func Verify(stored, password string) bool {
	scheme, data := split(stored)
	switch scheme {
	case "", "CLEARTEXT":
		a, b := sha256.Sum256([]byte(data)), sha256.Sum256([]byte(password))
		return subtle.ConstantTimeCompare(a[:], b[:]) == 1
	case "SHA":
		return digestMatch(data, password, sha1.New, false)
	case "SSHA":
		return digestMatch(data, password, sha1.New, true)
	case "SHA256":
		return digestMatch(data, password, sha256.New, false)
	case "SSHA256":
		return digestMatch(data, password, sha256.New, true)
	case "SHA512":
		return digestMatch(data, password, sha512.New, false)
	case "SSHA512":
		return digestMatch(data, password, sha512.New, true)
	case "MD5":
		return digestMatch(data, password, md5.New, false)
	case "SMD5":
		return digestMatch(data, password, md5.New, true)
	case "CRYPT":
		return cryptMatch(data, password)
	}
	return false
}

func split(stored string) (scheme, data string) {
	if !strings.HasPrefix(stored, "{") {
		return "", stored
	}
	end := strings.IndexByte(stored, '}')
	if end < 0 {
		return "", stored
	}
	return strings.ToUpper(stored[1:end]), stored[end+1:]
}

// digestMatch checks base64(H(password salt) salt), or base64(H(password))
// when salted is false.
func digestMatch(data, password string, newHash func() hash.Hash, salted bool) bool {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(data))
	if err != nil {
		return false
	}
	h := newHash()
	size := h.Size()
	if len(raw) < size || (!salted && len(raw) != size) {
		return false
	}
	sum, salt := raw[:size], raw[size:]
	h.Write([]byte(password))
	h.Write(salt)
	return subtle.ConstantTimeCompare(h.Sum(nil), sum) == 1
}

func cryptMatch(data, password string) bool {
	if strings.HasPrefix(data, "$2") {
		return bcrypt.CompareHashAndPassword([]byte(data), []byte(password)) == nil
	}
	got, err := cryptHash(data, password)
	if err != nil {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(data)) == 1
}
