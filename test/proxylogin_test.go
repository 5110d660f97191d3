package test

import (
	"testing"

	"msgplex/internal/e2e"
)

// TestProxyRepeatedLoginsDovecot: from the second login on, the proxy
// sends its store-admin login to a store it knows before reading the
// greeting (proxy/backend, "Fast path"); Dovecot takes it, and every
// session gets Dovecot's own capabilities.
func TestProxyRepeatedLoginsDovecot(t *testing.T) {
	dv := startDovecot(t)
	ldif := e2e.WriteLDIF(t, t.TempDir(), e2e.User{UID: "carol", Password: "carolpw", MailHost: dv})
	px := startPxProxy(t, ldifSection(ldif), "sendproxyprotocol = false")
	for i := range 3 {
		c := pxLogin(t, px.Addr, "carol", "carolpw", nil)
		caps, err := c.Capability().Wait()
		if err != nil {
			t.Fatalf("login %d: %v", i+1, err)
		}
		if !caps.Has("SORT") { // Dovecot's, not the proxy's
			t.Fatalf("login %d: capabilities not Dovecot's: %v", i+1, caps)
		}
		if _, err := c.Select("INBOX", nil).Wait(); err != nil {
			t.Fatalf("login %d: SELECT: %v", i+1, err)
		}
		c.Logout().Wait()
		c.Close()
	}
}
