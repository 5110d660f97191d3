package proxy

import (
	"fmt"
	"testing"
	"time"

	"msgplex/config"
)

func testSettings() *settings {
	c := config.Default().Proxy
	c.FailDelay = config.Duration(time.Second)
	c.FailDelayMax = config.Duration(8 * time.Second)
	st, _ := newSettings(c)
	return st
}

func TestThrottleDoublesAndCaps(t *testing.T) {
	now := time.Unix(1000, 0)
	th := newThrottle(func() time.Time { return now })
	st := testSettings()
	if d := th.wait("1.2.3.4", "alice", st); d != 0 {
		t.Fatalf("fresh wait %v", d)
	}
	want := []time.Duration{1, 2, 4, 8, 8, 8}
	for i, w := range want {
		th.fail("1.2.3.4", "alice", fmt.Sprint("pw", i), st)
		if d := th.wait("1.2.3.4", "alice", st); d != w*time.Second {
			t.Fatalf("after %d failures wait %v, want %v", i+1, d, w*time.Second)
		}
	}
	// Another address, same user: the user's delay applies.
	if d := th.wait("5.6.7.8", "alice", st); d != 8*time.Second {
		t.Fatalf("per-user delay %v", d)
	}
	// Another user from the same address: the address's delay applies.
	if d := th.wait("1.2.3.4", "bob", st); d != 8*time.Second {
		t.Fatalf("per-address delay %v", d)
	}
	// Time passes: the delay runs out, then the entries are forgotten.
	now = now.Add(8 * time.Second)
	if d := th.wait("1.2.3.4", "alice", st); d != 0 {
		t.Fatalf("wait after delay %v", d)
	}
	now = now.Add(forgetAfter(st) + time.Second)
	th.wait("1.2.3.4", "alice", st)
	if th.size() != 0 {
		t.Fatalf("%d entries not forgotten", th.size())
	}
}

func TestThrottleSamePasswordOnce(t *testing.T) {
	now := time.Unix(1000, 0)
	th := newThrottle(func() time.Time { return now })
	st := testSettings()
	for i := 0; i < 5; i++ {
		th.fail("1.2.3.4", "alice", "stale", st)
	}
	if d := th.wait("1.2.3.4", "alice", st); d != time.Second {
		t.Fatalf("same password counted more than once: wait %v", d)
	}
	th.fail("1.2.3.4", "alice", "other", st)
	if d := th.wait("1.2.3.4", "alice", st); d != 2*time.Second {
		t.Fatalf("new password not counted: wait %v", d)
	}
	th.success("alice")
	if d := th.wait("9.9.9.9", "alice", st); d != 0 {
		t.Fatalf("success did not clear the user: %v", d)
	}
}

func TestThrottleBounded(t *testing.T) {
	now := time.Unix(1000, 0)
	th := newThrottle(func() time.Time { return now })
	st := testSettings()
	for i := 0; i < maxThrottleEntries; i++ {
		th.fail(fmt.Sprint("10.0.", i), fmt.Sprint("u", i), "x", st)
	}
	if n := th.size(); n > maxThrottleEntries {
		t.Fatalf("table grew to %d", n)
	}
}
