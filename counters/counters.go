// Package counters keeps a service's live counters (the classic imapstat
// set) and publishes them for `msgplex counterutil` and Prometheus.
//
// A Set is a fixed group of atomic int64 counters (the global.* names of
// DESIGN.md) plus named extra gauges a service may add (per-worker sessions,
// mapped bytes, budget: "worker.1.sessions", …). Updating a counter is one
// atomic operation (ConnOpened: three, and a compare-and-swap while the
// maximum grows); nothing in the hot path takes a lock.
//
// # File format
//
// Publish writes a Snapshot every interval (and once more when it stops) to
// a file, atomically (temp file, fsync, rename), so a reader never sees a
// half-written file. The file is UTF-8 text:
//
//	# msgplex counters v1 service=proxy pid=7264 time=1771926957
//	global.currentstarttime 1771926900
//	global.lastconnectiontime 1771926955
//	global.maxconnections 12
//	…
//
// Lines starting with '#' are comments; every other line is a counter name,
// one space, a decimal int64. Names are sorted. Times are Unix seconds (UTC).
// The proxy writes `<proxy.statedir>/proxy.counters`; the store writes
// `<store.dataroot>/counters/store.counters` (see FileFor).
package counters

import (
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The imapstat counter names.
const (
	CurrentStartTime      = "global.currentstarttime"
	LastConnectionTime    = "global.lastconnectiontime"
	MaxConnections        = "global.maxconnections"
	NumConnections        = "global.numconnections"
	NumCurrentConnections = "global.numcurrentconnections"
	NumFailedConnections  = "global.numfailedconnections"
	NumFailedLogins       = "global.numfailedlogins"
	NumGoodLogins         = "global.numgoodlogins"
)

// Set is one service's counters. The zero value is not usable; use New.
type Set struct {
	startTime      atomic.Int64
	lastConn       atomic.Int64
	maxConns       atomic.Int64
	numConns       atomic.Int64
	currentConns   atomic.Int64
	failedConns    atomic.Int64
	failedLogins   atomic.Int64
	goodLogins     atomic.Int64
	mu             sync.Mutex // guards extra (the map, not the values)
	extra          map[string]*atomic.Int64
	cumulativeKeys map[string]bool
}

// New returns a Set whose start time is now.
func New(now time.Time) *Set {
	s := &Set{extra: map[string]*atomic.Int64{}, cumulativeKeys: map[string]bool{}}
	s.startTime.Store(now.Unix())
	return s
}

// ConnOpened counts an accepted connection at time now.
func (s *Set) ConnOpened(now time.Time) {
	s.numConns.Add(1)
	s.lastConn.Store(now.Unix())
	cur := s.currentConns.Add(1)
	for {
		m := s.maxConns.Load()
		if cur <= m || s.maxConns.CompareAndSwap(m, cur) {
			return
		}
	}
}

// ConnClosed counts the end of a connection counted by ConnOpened.
func (s *Set) ConnClosed() { s.currentConns.Add(-1) }

// ConnFailed counts a connection refused or failed before it was served.
func (s *Set) ConnFailed() { s.failedConns.Add(1) }

// LoginFailed counts a failed login.
func (s *Set) LoginFailed() { s.failedLogins.Add(1) }

// LoginGood counts a successful login.
func (s *Set) LoginGood() { s.goodLogins.Add(1) }

// Current returns the number of connections open now.
func (s *Set) Current() int64 { return s.currentConns.Load() }

// Gauge returns the extra counter called name, creating it at 0. The
// caller keeps the pointer and updates it atomically.
func (s *Set) Gauge(name string) *atomic.Int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.extra[name]
	if !ok {
		v = new(atomic.Int64)
		s.extra[name] = v
	}
	return v
}

// Counter is like Gauge but marks the value as only ever growing (for
// Prometheus' type).
func (s *Set) Counter(name string) *atomic.Int64 {
	v := s.Gauge(name)
	s.mu.Lock()
	s.cumulativeKeys[name] = true
	s.mu.Unlock()
	return v
}

// Value is one counter in a Snapshot.
type Value struct {
	Name  string
	Value int64
}

// Snapshot is every counter of a Set at one moment, sorted by name.
type Snapshot []Value

// Snapshot reads every counter.
func (s *Set) Snapshot() Snapshot {
	snap := Snapshot{
		{CurrentStartTime, s.startTime.Load()},
		{LastConnectionTime, s.lastConn.Load()},
		{MaxConnections, s.maxConns.Load()},
		{NumConnections, s.numConns.Load()},
		{NumCurrentConnections, s.currentConns.Load()},
		{NumFailedConnections, s.failedConns.Load()},
		{NumFailedLogins, s.failedLogins.Load()},
		{NumGoodLogins, s.goodLogins.Load()},
	}
	s.mu.Lock()
	for n, v := range s.extra {
		snap = append(snap, Value{n, v.Load()})
	}
	s.mu.Unlock()
	sort.Slice(snap, func(i, j int) bool { return snap[i].Name < snap[j].Name })
	return snap
}

// Get returns the value of name and whether it is present.
func (sn Snapshot) Get(name string) (int64, bool) {
	for _, v := range sn {
		if v.Name == name {
			return v.Value, true
		}
	}
	return 0, false
}

// cumulative reports whether name only grows (a Prometheus counter).
func (s *Set) cumulative(name string) bool {
	switch name {
	case NumConnections, NumFailedConnections, NumFailedLogins, NumGoodLogins:
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cumulativeKeys[name]
}

// metricName turns "global.numgoodlogins" into "global_numgoodlogins".
func metricName(name string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' {
			return r
		}
		return '_'
	}, name)
}
