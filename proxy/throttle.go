package proxy

import (
	"crypto/rand"
	"crypto/sha256"
	"sync"
	"time"
)

// maxThrottleEntries bounds the failure table; past it, expired entries
// are swept and then arbitrary ones dropped.
const maxThrottleEntries = 100000

// throttle delays logins after failures, per client address and per user:
// proxy.faildelay after the first failure, doubling per further failure up
// to proxy.faildelaymax. A failure with the same password as the previous
// failure (a client retrying a stale password) is counted once: the table
// keeps a salted SHA-256 of the last failed password, never the password.
// Entries are forgotten after forgetAfter without failures.
type throttle struct {
	now  func() time.Time
	salt [32]byte

	mu      sync.Mutex
	entries map[string]*failures
}

type failures struct {
	n      int
	last   time.Time
	lastPw [32]byte
}

func newThrottle(now func() time.Time) *throttle {
	t := &throttle{now: now, entries: map[string]*failures{}}
	rand.Read(t.salt[:])
	return t
}

func forgetAfter(st *settings) time.Duration {
	return max(10*st.FailDelayMax.D(), time.Minute)
}

func (t *throttle) delayFor(n int, st *settings) time.Duration {
	if n <= 0 || st.FailDelay <= 0 {
		return 0
	}
	d := st.FailDelay.D()
	for i := 1; i < n && d < st.FailDelayMax.D(); i++ {
		d *= 2
	}
	return min(d, st.FailDelayMax.D())
}

// wait returns how long a login from ip for user must still wait.
func (t *throttle) wait(ip, user string, st *settings) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	var w time.Duration
	for _, k := range []string{"a:" + ip, "u:" + user} {
		f, ok := t.entries[k]
		if !ok {
			continue
		}
		if now.Sub(f.last) > forgetAfter(st) {
			delete(t.entries, k)
			continue
		}
		w = max(w, f.last.Add(t.delayFor(f.n, st)).Sub(now))
	}
	return w
}

// fail records a failed login.
func (t *throttle) fail(ip, user, password string, st *settings) {
	h := sha256.New()
	h.Write(t.salt[:])
	h.Write([]byte(user))
	h.Write([]byte{0})
	h.Write([]byte(password))
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	if len(t.entries) >= maxThrottleEntries {
		t.sweep(now, st)
	}
	for _, k := range []string{"a:" + ip, "u:" + user} {
		f, ok := t.entries[k]
		if !ok || now.Sub(f.last) > forgetAfter(st) {
			f = &failures{}
			t.entries[k] = f
		}
		if f.n == 0 || f.lastPw != sum {
			f.n++
		}
		f.lastPw, f.last = sum, now
	}
}

// success forgets a user's failures (the address keeps its own).
func (t *throttle) success(user string) {
	t.mu.Lock()
	delete(t.entries, "u:"+user)
	t.mu.Unlock()
}

func (t *throttle) sweep(now time.Time, st *settings) {
	for k, f := range t.entries {
		if now.Sub(f.last) > forgetAfter(st) {
			delete(t.entries, k)
		}
	}
	for k := range t.entries {
		if len(t.entries) < maxThrottleEntries*9/10 {
			break
		}
		delete(t.entries, k)
	}
}

func (t *throttle) size() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.entries)
}
