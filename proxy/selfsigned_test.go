package proxy

import (
	"crypto/ecdsa"
	"crypto/tls"
	"os"
	"testing"
)

func TestEnsureSelfSigned(t *testing.T) {
	dir := t.TempDir()
	c, k, err := EnsureSelfSigned(dir, "mmp1")
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.LoadX509KeyPair(c, k)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := pair.PrivateKey.(*ecdsa.PrivateKey); !ok {
		t.Fatalf("key %T", pair.PrivateKey)
	}
	st, _ := os.Stat(k)
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("key mode %v", st.Mode())
	}
	before, _ := os.ReadFile(c)
	if _, _, err := EnsureSelfSigned(dir, "mmp1"); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(c)
	if string(before) != string(after) {
		t.Fatal("certificate regenerated on second run")
	}
}
