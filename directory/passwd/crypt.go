package passwd

import (
	"crypto/md5"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"hash"
	"strconv"
	"strings"
)

// This file implements glibc's crypt(3) schemes $1$ (MD5-crypt, from
// FreeBSD), $5$ and $6$ (SHA-crypt, Ulrich Drepper's specification
// "Unix crypt using SHA-256 and SHA-512", 2008): what slapd's {CRYPT}
// scheme stores on Debian.

const cryptAlphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

var errCryptFormat = errors.New("unsupported or malformed crypt string")

// cryptHash recomputes the crypt(3) string for password with the
// parameters (scheme, rounds, salt) of stored. Comparing it with stored in
// constant time is the caller's job.
func cryptHash(stored, password string) (string, error) {
	switch {
	case strings.HasPrefix(stored, "$1$"):
		return md5Crypt(stored, password)
	case strings.HasPrefix(stored, "$5$"):
		return shaCrypt(stored, password, "$5$", sha256.New, sha256Order)
	case strings.HasPrefix(stored, "$6$"):
		return shaCrypt(stored, password, "$6$", sha512.New, sha512Order)
	}
	return "", errCryptFormat
}

// b64 appends n characters encoding the 24-bit group b2 b1 b0, least
// significant six bits first.
func b64(dst []byte, b2, b1, b0 byte, n int) []byte {
	w := uint(b2)<<16 | uint(b1)<<8 | uint(b0)
	for range n {
		dst = append(dst, cryptAlphabet[w&0x3f])
		w >>= 6
	}
	return dst
}

// sha256Order and sha512Order are the byte triples of the final encoding,
// from the specification; the last triple is shorter (see encodeSHA).
var sha256Order = [][3]int{
	{0, 10, 20}, {21, 1, 11}, {12, 22, 2}, {3, 13, 23}, {24, 4, 14},
	{15, 25, 5}, {6, 16, 26}, {27, 7, 17}, {18, 28, 8}, {9, 19, 29},
}

var sha512Order = func() [][3]int {
	var o [][3]int
	for k := range 21 {
		a, b, c := k, k+21, k+42
		switch k % 3 {
		case 0:
			o = append(o, [3]int{a, b, c})
		case 1:
			o = append(o, [3]int{b, c, a})
		case 2:
			o = append(o, [3]int{c, a, b})
		}
	}
	return o
}()

// splitSalt parses "rounds=N$salt$..." or "salt$..." after the scheme
// prefix. explicit reports whether rounds= was present.
func splitSalt(rest string) (salt string, rounds int, explicit bool, err error) {
	rounds = 5000
	if r, ok := strings.CutPrefix(rest, "rounds="); ok {
		num, tail, found := strings.Cut(r, "$")
		if !found {
			return "", 0, false, errCryptFormat
		}
		n, perr := strconv.ParseUint(num, 10, 32)
		if perr != nil {
			return "", 0, false, errCryptFormat
		}
		rounds = int(min(max(n, 1000), 999999999))
		explicit = true
		rest = tail
	}
	salt, _, _ = strings.Cut(rest, "$")
	if len(salt) > 16 {
		salt = salt[:16]
	}
	return salt, rounds, explicit, nil
}

func shaCrypt(stored, password, prefix string, newHash func() hash.Hash, order [][3]int) (string, error) {
	salt, rounds, explicit, err := splitSalt(stored[len(prefix):])
	if err != nil {
		return "", err
	}
	pw, s := []byte(password), []byte(salt)
	h := newHash()
	size := h.Size()

	// Digest B = H(pw salt pw).
	h.Write(pw)
	h.Write(s)
	h.Write(pw)
	b := h.Sum(nil)

	// Digest A.
	h.Reset()
	h.Write(pw)
	h.Write(s)
	writeRepeated(h, b, len(pw))
	for n := len(pw); n > 0; n >>= 1 {
		if n&1 != 0 {
			h.Write(b)
		} else {
			h.Write(pw)
		}
	}
	a := h.Sum(nil)

	// P sequence: H(pw repeated len(pw) times), stretched to len(pw).
	h.Reset()
	for range len(pw) {
		h.Write(pw)
	}
	p := stretch(h.Sum(nil), len(pw))

	// S sequence: H(salt repeated 16+A[0] times), stretched to len(salt).
	h.Reset()
	for range 16 + int(a[0]) {
		h.Write(s)
	}
	ss := stretch(h.Sum(nil), len(s))

	c := a
	for i := range rounds {
		h.Reset()
		if i&1 != 0 {
			h.Write(p)
		} else {
			h.Write(c)
		}
		if i%3 != 0 {
			h.Write(ss)
		}
		if i%7 != 0 {
			h.Write(p)
		}
		if i&1 != 0 {
			h.Write(c)
		} else {
			h.Write(p)
		}
		c = h.Sum(c[:0])
	}

	out := []byte(prefix)
	if explicit {
		out = append(out, "rounds="+strconv.Itoa(rounds)+"$"...)
	}
	out = append(out, salt...)
	out = append(out, '$')
	for _, t := range order {
		out = b64(out, c[t[0]], c[t[1]], c[t[2]], 4)
	}
	if size == 32 {
		out = b64(out, 0, c[31], c[30], 3)
	} else {
		out = b64(out, 0, 0, c[63], 2)
	}
	return string(out), nil
}

// writeRepeated writes n bytes of block repeated.
func writeRepeated(h hash.Hash, block []byte, n int) {
	for ; n > len(block); n -= len(block) {
		h.Write(block)
	}
	h.Write(block[:n])
}

func stretch(block []byte, n int) []byte {
	out := make([]byte, 0, n)
	for len(out) < n {
		out = append(out, block[:min(len(block), n-len(out))]...)
	}
	return out
}

func md5Crypt(stored, password string) (string, error) {
	const magic = "$1$"
	salt, _, _ := strings.Cut(stored[len(magic):], "$")
	if len(salt) > 8 {
		salt = salt[:8]
	}
	pw, s := []byte(password), []byte(salt)

	h := md5.New()
	h.Write(pw)
	h.Write(s)
	h.Write(pw)
	alt := h.Sum(nil)

	h.Reset()
	h.Write(pw)
	h.Write([]byte(magic))
	h.Write(s)
	writeRepeated(h, alt, len(pw))
	for n := len(pw); n > 0; n >>= 1 {
		if n&1 != 0 {
			h.Write([]byte{0})
		} else {
			h.Write(pw[:1])
		}
	}
	f := h.Sum(nil)

	for i := range 1000 {
		h.Reset()
		if i&1 != 0 {
			h.Write(pw)
		} else {
			h.Write(f)
		}
		if i%3 != 0 {
			h.Write(s)
		}
		if i%7 != 0 {
			h.Write(pw)
		}
		if i&1 != 0 {
			h.Write(f)
		} else {
			h.Write(pw)
		}
		f = h.Sum(f[:0])
	}

	out := []byte(magic + salt + "$")
	out = b64(out, f[0], f[6], f[12], 4)
	out = b64(out, f[1], f[7], f[13], 4)
	out = b64(out, f[2], f[8], f[14], 4)
	out = b64(out, f[3], f[9], f[15], 4)
	out = b64(out, f[4], f[10], f[5], 4)
	out = b64(out, 0, 0, f[11], 2)
	return string(out), nil
}
