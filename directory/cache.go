package directory

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-memdb"
	"golang.org/x/sync/singleflight"
)

// The cache keeps two go-memdb tables, both keyed by the login name as
// given and indexed by expiry:
//
//	lookup: name → User, or a negative entry for ErrNoSuchUser
//	auth:   name → User and HMAC-SHA256(key, name NUL password)
//
// key is 32 random bytes drawn when the cache is made and never stored, so a
// memory dump of the cache does not let anyone test password guesses
// offline against another process, and the password itself is never kept.
// Rows are immutable: an update inserts a new row. A sweeper deletes
// expired rows through the expires index; reads also ignore expired rows,
// so the sweep interval only bounds memory, not staleness.
//
// What is cached: successful lookups and successful authentications for
// TTL; ErrNoSuchUser for NegativeTTL. Never: ErrBadPassword (a wrong
// password goes to the backend every time, and never touches the auth
// table), ErrUnavailable, context errors. A password changed in the
// directory takes effect within TTL: the new password misses (its HMAC
// differs) and goes to the backend; the old one is accepted until its row
// expires.
//
// Concurrent identical requests collapse into one backend call
// (singleflight); an authentication's flight key includes the HMAC, so
// different passwords never share a result. The shared call runs without
// the first caller's cancellation (the backend bounds it with its own
// timeout); each caller still returns when its own context ends.

const (
	tableLookup = "lookup"
	tableAuth   = "auth"
)

// CacheOptions configures NewCache. Zero values are documented defaults.
type CacheOptions struct {
	// TTL is how long a successful lookup or login is kept. Required (> 0).
	TTL time.Duration
	// NegativeTTL is how long ErrNoSuchUser is kept; 0 keeps none.
	NegativeTTL time.Duration
	// SweepInterval is how often expired rows are deleted. Default TTL,
	// at least one second.
	SweepInterval time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Log receives sweep errors; nil discards.
	Log *slog.Logger
}

// CacheStats are the cache's counters since it was made.
type CacheStats struct {
	Hits, Misses         int64 // lookups (positive and negative hits)
	AuthHits, AuthMisses int64 // authentications
	Entries              int   // rows in both tables now, expired included
}

// Cache wraps a Directory with a TTL cache. It implements Directory and
// Reloader.
type Cache struct {
	dir   Directory
	opts  CacheOptions
	db    *memdb.MemDB
	key   []byte
	group singleflight.Group

	hits, misses, authHits, authMisses atomic.Int64
	// joined, if set (tests), is called once a caller waits on a flight.
	joined func()

	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{}
}

type lookupRow struct {
	Name     string
	User     User
	Negative bool
	Expires  int64 // unix nanoseconds
}

type authRow struct {
	Name    string
	User    User
	MAC     []byte
	Expires int64
}

func cacheSchema() *memdb.DBSchema {
	table := func(name string) *memdb.TableSchema {
		return &memdb.TableSchema{
			Name: name,
			Indexes: map[string]*memdb.IndexSchema{
				"id":      {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "Name"}},
				"expires": {Name: "expires", Indexer: &memdb.IntFieldIndex{Field: "Expires"}},
			},
		}
	}
	return &memdb.DBSchema{Tables: map[string]*memdb.TableSchema{
		tableLookup: table(tableLookup),
		tableAuth:   table(tableAuth),
	}}
}

// NewCache wraps d. Close the cache to stop its sweeper; it closes d too.
func NewCache(d Directory, o CacheOptions) (*Cache, error) {
	if o.TTL <= 0 {
		return nil, errors.New("directory cache: TTL must be positive")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.SweepInterval <= 0 {
		o.SweepInterval = max(o.TTL, time.Second)
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	db, err := memdb.NewMemDB(cacheSchema())
	if err != nil {
		return nil, fmt.Errorf("directory cache: %w", err)
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("directory cache key: %w", err)
	}
	c := &Cache{dir: d, opts: o, db: db, key: key, stop: make(chan struct{}), done: make(chan struct{})}
	go c.sweeper()
	return c, nil
}

// Lookup implements Directory.
func (c *Cache) Lookup(ctx context.Context, name string) (User, error) {
	if err := CheckName(name); err != nil {
		return User{}, err
	}
	if row, ok := c.getLookup(name); ok {
		c.hits.Add(1)
		if row.Negative {
			return User{}, fmt.Errorf("%q (cached): %w", name, ErrNoSuchUser)
		}
		return row.User, nil
	}
	c.misses.Add(1)
	return c.shared(ctx, "L\x00"+name, func(ctx context.Context) (User, error) {
		u, err := c.dir.Lookup(ctx, name)
		c.remember(name, u, err)
		return u, err
	})
}

// Authenticate implements Directory.
func (c *Cache) Authenticate(ctx context.Context, name, password string) (User, error) {
	if err := CheckCredentials(name, password); err != nil {
		return User{}, err
	}
	mac := c.mac(name, password)
	if u, ok := c.getAuth(name, mac); ok {
		c.authHits.Add(1)
		return u, nil
	}
	if row, ok := c.getLookup(name); ok && row.Negative {
		c.authHits.Add(1)
		return User{}, fmt.Errorf("%q (cached): %w", name, ErrNoSuchUser)
	}
	c.authMisses.Add(1)
	return c.shared(ctx, "A\x00"+name+"\x00"+hex.EncodeToString(mac), func(ctx context.Context) (User, error) {
		u, err := c.dir.Authenticate(ctx, name, password)
		if err == nil {
			c.put(tableAuth, &authRow{Name: name, User: u, MAC: mac, Expires: c.expires(c.opts.TTL)})
		}
		c.remember(name, u, err)
		return u, err
	})
}

// shared runs fn once for all concurrent callers with the same key.
func (c *Cache) shared(ctx context.Context, key string, fn func(context.Context) (User, error)) (User, error) {
	inner := context.WithoutCancel(ctx)
	ch := c.group.DoChan(key, func() (any, error) { return fn(inner) })
	if c.joined != nil {
		c.joined()
	}
	select {
	case r := <-ch:
		u, _ := r.Val.(User)
		return u, r.Err
	case <-ctx.Done():
		return User{}, fmt.Errorf("directory: %w: %w", ErrUnavailable, ctx.Err())
	}
}

// remember caches the outcome of a backend call where that is allowed.
func (c *Cache) remember(name string, u User, err error) {
	switch {
	case err == nil:
		c.put(tableLookup, &lookupRow{Name: name, User: u, Expires: c.expires(c.opts.TTL)})
	case errors.Is(err, ErrNoSuchUser) && !errors.Is(err, ErrUnavailable) && c.opts.NegativeTTL > 0:
		c.put(tableLookup, &lookupRow{Name: name, Negative: true, Expires: c.expires(c.opts.NegativeTTL)})
	}
}

func (c *Cache) mac(name, password string) []byte {
	h := hmac.New(sha256.New, c.key)
	h.Write([]byte(name))
	h.Write([]byte{0})
	h.Write([]byte(password))
	return h.Sum(nil)
}

func (c *Cache) expires(ttl time.Duration) int64 { return c.opts.Now().Add(ttl).UnixNano() }

func (c *Cache) live(expires int64) bool { return c.opts.Now().UnixNano() < expires }

func (c *Cache) getLookup(name string) (*lookupRow, bool) {
	txn := c.db.Txn(false)
	defer txn.Abort()
	raw, err := txn.First(tableLookup, "id", name)
	if err != nil || raw == nil {
		return nil, false
	}
	row := raw.(*lookupRow)
	return row, c.live(row.Expires)
}

func (c *Cache) getAuth(name string, mac []byte) (User, bool) {
	txn := c.db.Txn(false)
	defer txn.Abort()
	raw, err := txn.First(tableAuth, "id", name)
	if err != nil || raw == nil {
		return User{}, false
	}
	row := raw.(*authRow)
	if !c.live(row.Expires) || !hmac.Equal(row.MAC, mac) {
		return User{}, false
	}
	return row.User, true
}

func (c *Cache) put(table string, row any) {
	txn := c.db.Txn(true)
	defer txn.Abort()
	if err := txn.Insert(table, row); err != nil {
		c.opts.Log.Error("directory cache insert", "table", table, "err", err)
		return
	}
	txn.Commit()
}

// Sweep deletes expired rows and returns how many. The sweeper calls it;
// tests may too.
func (c *Cache) Sweep() int {
	now := c.opts.Now().UnixNano()
	txn := c.db.Txn(true)
	defer txn.Abort()
	n := 0
	for _, table := range []string{tableLookup, tableAuth} {
		it, err := txn.Get(table, "expires")
		if err != nil {
			c.opts.Log.Error("directory cache sweep", "table", table, "err", err)
			continue
		}
		var dead []any
		for raw := it.Next(); raw != nil; raw = it.Next() {
			if expiresOf(raw) > now {
				break
			}
			dead = append(dead, raw)
		}
		for _, raw := range dead {
			if err := txn.Delete(table, raw); err == nil {
				n++
			}
		}
	}
	txn.Commit()
	return n
}

func expiresOf(raw any) int64 {
	switch r := raw.(type) {
	case *lookupRow:
		return r.Expires
	case *authRow:
		return r.Expires
	}
	return 0
}

func (c *Cache) sweeper() {
	defer close(c.done)
	t := time.NewTicker(c.opts.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			c.Sweep()
		}
	}
}

// Purge forgets every cached row.
func (c *Cache) Purge() {
	txn := c.db.Txn(true)
	defer txn.Abort()
	for _, table := range []string{tableLookup, tableAuth} {
		if _, err := txn.DeleteAll(table, "id"); err != nil {
			c.opts.Log.Error("directory cache purge", "table", table, "err", err)
		}
	}
	txn.Commit()
}

// Reload reloads the wrapped directory if it can, then forgets everything
// cached, so that a SIGHUP makes directory changes visible at once.
func (c *Cache) Reload() error {
	var err error
	if r, ok := c.dir.(Reloader); ok {
		err = r.Reload()
	}
	c.Purge()
	return err
}

// Stats returns the counters.
func (c *Cache) Stats() CacheStats {
	s := CacheStats{Hits: c.hits.Load(), Misses: c.misses.Load(), AuthHits: c.authHits.Load(), AuthMisses: c.authMisses.Load()}
	txn := c.db.Txn(false)
	defer txn.Abort()
	for _, table := range []string{tableLookup, tableAuth} {
		if it, err := txn.Get(table, "id"); err == nil {
			for raw := it.Next(); raw != nil; raw = it.Next() {
				s.Entries++
			}
		}
	}
	return s
}

// Close stops the sweeper and closes the wrapped directory.
func (c *Cache) Close() error {
	c.stopOnce.Do(func() { close(c.stop) })
	<-c.done
	return c.dir.Close()
}
