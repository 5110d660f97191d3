package directory

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeDir is an in-memory Directory that counts backend calls.
type fakeDir struct {
	mu       sync.Mutex
	users    map[string]User
	pass     map[string]string
	down     bool
	gate     chan struct{} // when non-nil, calls wait for it to close
	lookups  atomic.Int64
	auths    atomic.Int64
	reloaded atomic.Int64
}

func newFake() *fakeDir {
	return &fakeDir{
		users: map[string]User{"alice": {UID: "alice", MailHost: "store1", Status: StatusActive}},
		pass:  map[string]string{"alice": "secret"},
	}
}

func (f *fakeDir) wait() {
	f.mu.Lock()
	g := f.gate
	f.mu.Unlock()
	if g != nil {
		<-g
	}
}

func (f *fakeDir) Lookup(ctx context.Context, name string) (User, error) {
	f.lookups.Add(1)
	f.wait()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return User{}, ErrUnavailable
	}
	u, ok := f.users[name]
	if !ok {
		return User{}, ErrNoSuchUser
	}
	return u, nil
}

func (f *fakeDir) Authenticate(ctx context.Context, name, password string) (User, error) {
	f.auths.Add(1)
	f.wait()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return User{}, ErrUnavailable
	}
	u, ok := f.users[name]
	if !ok {
		return User{}, ErrNoSuchUser
	}
	if f.pass[name] != password {
		return User{}, ErrBadPassword
	}
	return u, nil
}

func (f *fakeDir) Reload() error { f.reloaded.Add(1); return nil }
func (f *fakeDir) Close() error  { return nil }

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func newTestCache(t *testing.T, f *fakeDir) (*Cache, *fakeClock) {
	t.Helper()
	clk := &fakeClock{now: time.Unix(1e9, 0)}
	c, err := NewCache(f, CacheOptions{TTL: time.Minute, NegativeTTL: 10 * time.Second, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, clk
}

func TestCacheLookup(t *testing.T) {
	f := newFake()
	c, clk := newTestCache(t, f)
	ctx := context.Background()
	for range 3 {
		u, err := c.Lookup(ctx, "alice")
		if err != nil || u.MailHost != "store1" {
			t.Fatalf("Lookup = %+v, %v", u, err)
		}
	}
	if n := f.lookups.Load(); n != 1 {
		t.Fatalf("backend lookups = %d, want 1", n)
	}
	if s := c.Stats(); s.Hits != 2 || s.Misses != 1 {
		t.Fatalf("stats = %+v", s)
	}
	clk.Add(61 * time.Second)
	if _, err := c.Lookup(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if n := f.lookups.Load(); n != 2 {
		t.Fatalf("after TTL backend lookups = %d, want 2", n)
	}
}

func TestCacheNegative(t *testing.T) {
	f := newFake()
	c, clk := newTestCache(t, f)
	ctx := context.Background()
	for range 3 {
		if _, err := c.Lookup(ctx, "bob"); !errors.Is(err, ErrNoSuchUser) {
			t.Fatalf("Lookup bob: %v", err)
		}
	}
	if _, err := c.Authenticate(ctx, "bob", "x"); !errors.Is(err, ErrNoSuchUser) {
		t.Fatalf("Authenticate bob: %v", err)
	}
	if n := f.lookups.Load() + f.auths.Load(); n != 1 {
		t.Fatalf("backend calls = %d, want 1", n)
	}
	f.mu.Lock()
	f.users["bob"] = User{UID: "bob"}
	f.mu.Unlock()
	clk.Add(11 * time.Second)
	if _, err := c.Lookup(ctx, "bob"); err != nil {
		t.Fatalf("bob after negative TTL: %v", err)
	}
}

func TestCacheUnavailableNotCached(t *testing.T) {
	f := newFake()
	f.down = true
	c, _ := newTestCache(t, f)
	ctx := context.Background()
	for range 3 {
		if _, err := c.Lookup(ctx, "alice"); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("Lookup: %v", err)
		}
		if _, err := c.Authenticate(ctx, "alice", "secret"); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("Authenticate: %v", err)
		}
	}
	if f.lookups.Load() != 3 || f.auths.Load() != 3 {
		t.Fatalf("backend calls %d/%d, want 3/3", f.lookups.Load(), f.auths.Load())
	}
	f.mu.Lock()
	f.down = false
	f.mu.Unlock()
	if _, err := c.Authenticate(ctx, "alice", "secret"); err != nil {
		t.Fatalf("after recovery: %v", err)
	}
}

func TestCacheAuth(t *testing.T) {
	f := newFake()
	c, clk := newTestCache(t, f)
	ctx := context.Background()
	for range 3 {
		if _, err := c.Authenticate(ctx, "alice", "secret"); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.auths.Load(); n != 1 {
		t.Fatalf("backend auths = %d, want 1", n)
	}
	// A wrong password always reaches the backend and never succeeds.
	for range 3 {
		if _, err := c.Authenticate(ctx, "alice", "wrong"); !errors.Is(err, ErrBadPassword) {
			t.Fatalf("wrong password: %v", err)
		}
	}
	if n := f.auths.Load(); n != 4 {
		t.Fatalf("backend auths = %d, want 4", n)
	}
	if _, err := c.Authenticate(ctx, "alice", ""); !errors.Is(err, ErrBadPassword) {
		t.Fatalf("empty password: %v", err)
	}
	// The password changes: the new one works at once, the old one until
	// the TTL passes.
	f.mu.Lock()
	f.pass["alice"] = "new"
	f.mu.Unlock()
	if _, err := c.Authenticate(ctx, "alice", "new"); err != nil {
		t.Fatalf("new password: %v", err)
	}
	clk.Add(61 * time.Second)
	if _, err := c.Authenticate(ctx, "alice", "secret"); !errors.Is(err, ErrBadPassword) {
		t.Fatalf("old password after TTL: %v", err)
	}
}

func TestCacheKeepsNoPassword(t *testing.T) {
	f := newFake()
	f.pass["alice"] = "Very-Distinct-Password-123"
	c, _ := newTestCache(t, f)
	if _, err := c.Authenticate(context.Background(), "alice", f.pass["alice"]); err != nil {
		t.Fatal(err)
	}
	txn := c.db.Txn(false)
	defer txn.Abort()
	it, err := txn.Get(tableAuth, "id")
	if err != nil {
		t.Fatal(err)
	}
	rows := 0
	for raw := it.Next(); raw != nil; raw = it.Next() {
		rows++
		row := raw.(*authRow)
		if strings.Contains(string(row.MAC), "Very-Distinct") || len(row.MAC) != 32 {
			t.Fatalf("auth row keeps something password-like: %q", row.MAC)
		}
	}
	if rows != 1 {
		t.Fatalf("auth rows = %d", rows)
	}
}

func TestCacheSingleflight(t *testing.T) {
	f := newFake()
	f.gate = make(chan struct{})
	c, _ := newTestCache(t, f)
	const n = 20
	var joined atomic.Int64
	c.joined = func() { joined.Add(1) }
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.Lookup(context.Background(), "alice")
			errs <- err
		}()
	}
	// Wait (bounded) until every caller waits on the flight, then let the
	// one backend call finish.
	deadline := time.Now().Add(10 * time.Second)
	for joined.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d callers joined the flight", joined.Load(), n)
		}
		time.Sleep(time.Millisecond)
	}
	close(f.gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := f.lookups.Load(); got != 1 {
		t.Fatalf("backend lookups = %d, want 1", got)
	}
}

func TestCacheCallerContext(t *testing.T) {
	f := newFake()
	f.gate = make(chan struct{})
	c, _ := newTestCache(t, f)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.Lookup(ctx, "alice"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Lookup with expired context: %v", err)
	}
	close(f.gate)
}

func TestCacheSweepAndReload(t *testing.T) {
	f := newFake()
	c, clk := newTestCache(t, f)
	ctx := context.Background()
	c.Authenticate(ctx, "alice", "secret")
	c.Lookup(ctx, "nobody")
	if s := c.Stats(); s.Entries != 3 {
		t.Fatalf("entries = %d, want 3", s.Entries)
	}
	clk.Add(11 * time.Second)
	if n := c.Sweep(); n != 1 {
		t.Fatalf("swept %d, want 1 (the negative entry)", n)
	}
	if err := c.Reload(); err != nil {
		t.Fatal(err)
	}
	if s := c.Stats(); s.Entries != 0 || f.reloaded.Load() != 1 {
		t.Fatalf("after reload: %+v, reloaded %d", s, f.reloaded.Load())
	}
}

func TestCheckName(t *testing.T) {
	for _, bad := range []string{"", strings.Repeat("a", MaxNameLen+1), "a\xffb", "a\x00b", "a\nb"} {
		if err := CheckName(bad); !errors.Is(err, ErrNoSuchUser) {
			t.Errorf("CheckName(%q) = %v", bad, err)
		}
	}
	for _, good := range []string{"alice", "*)(uid=*", "jöran@example.com"} {
		if err := CheckName(good); err != nil {
			t.Errorf("CheckName(%q) = %v", good, err)
		}
	}
}

func TestStatusRefusal(t *testing.T) {
	cases := []struct {
		s                  Status
		permanent, refused bool
	}{
		{StatusActive, false, false}, {StatusOverQuota, false, false},
		{StatusHold, false, true}, {StatusInactive, false, true}, {"weird", false, true},
		{StatusDisabled, true, true}, {StatusDeleted, true, true}, {StatusRemoved, true, true},
	}
	for _, c := range cases {
		p, r := c.s.Refusal()
		if p != c.permanent || r != c.refused {
			t.Errorf("%s.Refusal() = %v, %v", c.s, p, r)
		}
	}
	if ParseStatus("") != StatusActive || ParseStatus(" Hold ") != StatusHold {
		t.Error("ParseStatus")
	}
}

// BenchmarkCacheAuthenticateHit is the cost of a cached login: one HMAC
// and one memdb read.
func BenchmarkCacheAuthenticateHit(b *testing.B) {
	c, err := NewCache(newFake(), CacheOptions{TTL: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	if _, err := c.Authenticate(ctx, "alice", "secret"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Authenticate(ctx, "alice", "secret"); err != nil {
				b.Fatal(err)
			}
		}
	})
}
