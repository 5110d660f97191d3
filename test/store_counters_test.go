package test

import (
	"strings"
	"testing"
	"time"

	"msgplex/internal/e2e"
)

// TestStoreCounters reads the running store's imapstat counters with
// counterutil: good and failed logins, current connections, worker budget.
func TestStoreCounters(t *testing.T) {
	dir := t.TempDir()
	ldif := e2e.WriteLDIF(t, dir, e2e.User{UID: "erin", Password: "pw-erin"})
	st := e2e.StartStore(t, e2e.StoreConfig{DataRoot: dir + "/data", LDIF: ldif, Extra: `service.imap.vmbudget = "64MiB"`})

	c := dialLogin(t, st.Addr, "erin", "pw-erin", nil)
	defer c.Close()
	if err := c2Fail(st.Addr); err == nil {
		t.Fatal("a wrong password logged in")
	}

	want := map[string]string{
		"global.numgoodlogins": "1", "global.numfailedlogins": "1",
		"global.numcurrentconnections": "1", "worker.0.budget": "67108864",
	}
	var out string
	deadline := time.Now().Add(15 * time.Second)
	for {
		var err error
		out, err = e2e.Run(t, "counterutil", "--config", st.Config, "--service", "store", "-o", "imapstat")
		if err == nil && hasValues(out, want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("counterutil never showed %q:\n%s (err %v)", want, out, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	got := parseCounters(out)
	for _, name := range []string{"global.currentstarttime", "global.lastconnectiontime", "global.maxconnections", "global.numconnections", "worker.0.mappedbytes"} {
		if _, ok := got[name]; !ok {
			t.Errorf("counterutil output lacks %s:\n%s", name, out)
		}
	}
}

func c2Fail(addr string) error {
	c, err := dialRaw(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	return c.Login("erin", "wrong").Wait()
}

// parseCounters reads counterutil's "name value" lines.
func parseCounters(out string) map[string]string {
	m := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) == 2 {
			m[f[0]] = f[1]
		}
	}
	return m
}

func hasValues(out string, want map[string]string) bool {
	got := parseCounters(out)
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}
