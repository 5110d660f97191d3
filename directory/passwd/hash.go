package passwd

import (
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"strings"
)

// Hash stores password with scheme: "{SSHA}", "{SHA}", "{CRYPT}" (SHA-512
// crypt, $6$), or "" / "{CLEARTEXT}" for the password itself. It writes
// what slappasswd writes, for tools and tests.
func Hash(scheme, password string) (string, error) {
	switch strings.ToUpper(scheme) {
	case "", "{CLEARTEXT}":
		return password, nil
	case "{SHA}":
		sum := sha1.Sum([]byte(password))
		return "{SHA}" + base64.StdEncoding.EncodeToString(sum[:]), nil
	case "{SSHA}":
		salt := make([]byte, 8)
		rand.Read(salt)
		sum := sha1.Sum(append([]byte(password), salt...))
		return "{SSHA}" + base64.StdEncoding.EncodeToString(append(sum[:], salt...)), nil
	case "{CRYPT}":
		salt := make([]byte, 16)
		rand.Read(salt)
		for i, b := range salt {
			salt[i] = cryptAlphabet[b&63]
		}
		h, err := cryptHash("$6$"+string(salt)+"$", password)
		return "{CRYPT}" + h, err
	}
	return "", fmt.Errorf("passwd: unknown scheme %q", scheme)
}
