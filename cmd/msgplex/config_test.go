package main

import (
	"path/filepath"
	"runtime"
	"testing"

	"msgplex/config"
)

// The shipped example configuration must load: it is what admins copy.
func TestExampleConfigLoads(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	p := filepath.Join(filepath.Dir(file), "..", "..", "deploy", "msgplex.toml")
	c, err := config.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if c.Proxy.MaxLineLength != 8<<10 || c.Service.IMAP.VMBudget != 1<<30 {
		t.Fatalf("example values not read: %+v", c.Proxy)
	}
}
