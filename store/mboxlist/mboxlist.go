// Package mboxlist is the durable list of folders per user: each folder's
// UIDVALIDITY, special-use attribute, message count, size, expunged count,
// creation and last repair time and quota use, plus each user's
// subscriptions (which may name folders that do not exist).
//
// # Why SQLite
//
// Several processes open the list at once: the store daemon, its imapd
// worker processes, and the admin tools (mboxutil, reconstruct, impurge)
// while the store runs. bbolt flocks its file, so a second process cannot
// open it, not even read-only, and would wait for ever (LIBRARIES.md).
// Routing every access through one owning process over a socket would make
// the admin tools depend on a running daemon. SQLite in WAL mode lets any
// number of processes read while one writes, and a writer waits for
// another instead of failing. So the list is one SQLite database, opened
// with the pure-Go driver modernc.org/sqlite (driver name "sqlite"), at
//
//	<dataroot>/store/mboxlist/mboxlist.db   (+ -wal and -shm files)
//
// with journal_mode=WAL, synchronous=FULL (a committed change survives a
// power cut: every commit fsyncs the WAL), busy_timeout (BusyTimeout: a
// process waits that long for another's write lock) and foreign keys on.
// Every write transaction starts with BEGIN IMMEDIATE, so a transaction
// never has to upgrade a read lock to a write lock (which SQLite answers
// with SQLITE_BUSY regardless of the busy timeout).
//
// # Schema
//
//	folders(user, name, uidvalidity, specialuse, messages, size, expunged,
//	        quotaused, created, lastrepair)  primary key (user, name)
//	subscriptions(user, name)                primary key (user, name)
//	counters(name, value)                    "uidvalidity": last one given
//
// Times are Unix nanoseconds, 0 for none. Names are canonical IMAP names
// ("INBOX" for the inbox); this package does not validate them (package
// store does).
//
// # Invariants
//
//   - UIDVALIDITY values never repeat, for any name, in one data root:
//     each new value is max(now in Unix seconds, last+1), and the last one
//     is kept in counters. Values adopted from elsewhere (Put, e.g. an
//     index found by reconstruct) raise the counter too. Since values are
//     unique across all names, RENAME never needs to change one.
//   - A folder row exists exactly while the folder exists; callers that
//     also change files on disk do so inside the transaction (the fn
//     callbacks of Create, Delete, Rename), so a failure on disk rolls the
//     row change back.
//   - Message counts and sizes are a cache of the folders' index headers,
//     refreshed by the store when it lists folders (UpdateCounts), not on
//     every append.
package mboxlist

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"time"

	_ "modernc.org/sqlite" // driver "sqlite"
)

// Folder is one row of the list.
type Folder struct {
	User        string
	Name        string // canonical IMAP name, "INBOX" for the inbox
	UIDValidity uint32
	SpecialUse  string // "" or \Drafts, \Sent, ...
	Subscribed  bool
	Messages    uint32 // as of the last update from the folder
	Size        int64
	Expunged    uint64
	QuotaUsed   int64 // bytes counted against the user's quota (reserved)
	Created     time.Time
	LastRepair  time.Time
}

// Counts are the figures UpdateCounts refreshes from a folder's index.
type Counts struct {
	Messages uint32
	Size     int64
}

// Errors callers test for with errors.Is.
var (
	ErrNotFound = errors.New("mboxlist: no such folder")
	ErrExists   = errors.New("mboxlist: folder exists")
)

// BusyTimeout is how long a process waits for another's write lock.
const BusyTimeout = 30 * time.Second

// FileName is the database's name inside its directory.
const FileName = "mboxlist.db"

// DB is an open folder list. It is safe for concurrent use.
type DB struct {
	db   *sql.DB
	path string
	now  func() time.Time
}

// Open opens (creating if needed) the list at dir/mboxlist.db.
func Open(ctx context.Context, dir string) (*DB, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("mboxlist: %w", err)
	}
	path := filepath.Join(dir, FileName)
	q := url.Values{}
	q.Set("_busy_timeout", fmt.Sprint(BusyTimeout.Milliseconds()))
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "FULL")
	q.Set("_foreign_keys", "1")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("mboxlist: open %s: %w", path, err)
	}
	d := &DB{db: db, path: path, now: time.Now}
	if err := d.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return d, nil
}

const schema = `
CREATE TABLE IF NOT EXISTS folders (
	user        TEXT NOT NULL,
	name        TEXT NOT NULL,
	uidvalidity INTEGER NOT NULL,
	specialuse  TEXT NOT NULL DEFAULT '',
	messages    INTEGER NOT NULL DEFAULT 0,
	size        INTEGER NOT NULL DEFAULT 0,
	expunged    INTEGER NOT NULL DEFAULT 0,
	quotaused   INTEGER NOT NULL DEFAULT 0,
	created     INTEGER NOT NULL DEFAULT 0,
	lastrepair  INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (user, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS subscriptions (
	user TEXT NOT NULL,
	name TEXT NOT NULL,
	PRIMARY KEY (user, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS counters (
	name  TEXT PRIMARY KEY,
	value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT OR IGNORE INTO counters (name, value) VALUES ('uidvalidity', 0);
`

func (d *DB) migrate(ctx context.Context) error {
	return d.write(ctx, "create schema", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, schema)
		return err
	})
}

// Path is the database file.
func (d *DB) Path() string { return d.path }

// Close closes the database.
func (d *DB) Close() error { return d.db.Close() }

// write runs fn in an IMMEDIATE transaction and commits it.
func (d *DB) write(ctx context.Context, what string, fn func(tx *sql.Tx) error) error {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("mboxlist: %s: begin: %w", what, err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		if errors.Is(err, ErrNotFound) || errors.Is(err, ErrExists) {
			return err
		}
		return fmt.Errorf("mboxlist: %s: %w", what, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("mboxlist: %s: commit: %w", what, err)
	}
	return nil
}

const folderCols = `f.user, f.name, f.uidvalidity, f.specialuse, f.messages, f.size,
	f.expunged, f.quotaused, f.created, f.lastrepair,
	EXISTS (SELECT 1 FROM subscriptions s WHERE s.user = f.user AND s.name = f.name)`

type scanner interface{ Scan(dest ...any) error }

func scanFolder(r scanner) (Folder, error) {
	var f Folder
	var created, repaired int64
	err := r.Scan(&f.User, &f.Name, &f.UIDValidity, &f.SpecialUse, &f.Messages, &f.Size,
		&f.Expunged, &f.QuotaUsed, &created, &repaired, &f.Subscribed)
	f.Created = fromNanos(created)
	f.LastRepair = fromNanos(repaired)
	return f, err
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

func toNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// Get returns one folder (ErrNotFound if it is not listed).
func (d *DB) Get(ctx context.Context, user, name string) (Folder, error) {
	row := d.db.QueryRowContext(ctx, `SELECT `+folderCols+` FROM folders f WHERE f.user = ? AND f.name = ?`, user, name)
	f, err := scanFolder(row)
	if errors.Is(err, sql.ErrNoRows) {
		return f, fmt.Errorf("%s of %s: %w", name, user, ErrNotFound)
	}
	if err != nil {
		return f, fmt.Errorf("mboxlist: get %s of %s: %w", name, user, err)
	}
	return f, nil
}

// List returns a user's folders sorted by name (byte order).
func (d *DB) List(ctx context.Context, user string) ([]Folder, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT `+folderCols+` FROM folders f WHERE f.user = ? ORDER BY f.name`, user)
	if err != nil {
		return nil, fmt.Errorf("mboxlist: list %s: %w", user, err)
	}
	defer rows.Close()
	var out []Folder
	for rows.Next() {
		f, err := scanFolder(rows)
		if err != nil {
			return nil, fmt.Errorf("mboxlist: list %s: %w", user, err)
		}
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("mboxlist: list %s: %w", user, err)
	}
	return out, nil
}

// Users returns every user with at least one folder, sorted.
func (d *DB) Users(ctx context.Context) ([]string, error) {
	return d.strings(ctx, "users", `SELECT DISTINCT user FROM folders ORDER BY user`)
}

// Subscriptions returns a user's subscribed names, sorted.
func (d *DB) Subscriptions(ctx context.Context, user string) ([]string, error) {
	return d.strings(ctx, "subscriptions of "+user, `SELECT name FROM subscriptions WHERE user = ? ORDER BY name`, user)
}

func (d *DB) strings(ctx context.Context, what, query string, args ...any) ([]string, error) {
	rows, err := d.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("mboxlist: %s: %w", what, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, fmt.Errorf("mboxlist: %s: %w", what, err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("mboxlist: %s: %w", what, err)
	}
	sort.Strings(out)
	return out, nil
}

// SetSubscribed subscribes or unsubscribes user to name (which need not
// exist). Repeating either is not an error.
func (d *DB) SetSubscribed(ctx context.Context, user, name string, on bool) error {
	q := `DELETE FROM subscriptions WHERE user = ? AND name = ?`
	if on {
		q = `INSERT OR IGNORE INTO subscriptions (user, name) VALUES (?, ?)`
	}
	if _, err := d.db.ExecContext(ctx, q, user, name); err != nil {
		return fmt.Errorf("mboxlist: subscribe %s of %s: %w", name, user, err)
	}
	return nil
}

// DeleteSubscriptions removes all of a user's subscriptions.
func (d *DB) DeleteSubscriptions(ctx context.Context, user string) error {
	if _, err := d.db.ExecContext(ctx, `DELETE FROM subscriptions WHERE user = ?`, user); err != nil {
		return fmt.Errorf("mboxlist: delete subscriptions of %s: %w", user, err)
	}
	return nil
}

// nextUIDValidity allocates a UIDVALIDITY: max(now, last+1).
func (d *DB) nextUIDValidity(ctx context.Context, tx *sql.Tx) (uint32, error) {
	var last int64
	if err := tx.QueryRowContext(ctx, `SELECT value FROM counters WHERE name = 'uidvalidity'`).Scan(&last); err != nil {
		return 0, fmt.Errorf("read uidvalidity counter: %w", err)
	}
	v := max(d.now().Unix(), last+1)
	if v > 0xFFFFFFFF {
		return 0, errors.New("uidvalidity counter exhausted")
	}
	if _, err := tx.ExecContext(ctx, `UPDATE counters SET value = ? WHERE name = 'uidvalidity'`, v); err != nil {
		return 0, fmt.Errorf("write uidvalidity counter: %w", err)
	}
	return uint32(v), nil
}

// raiseUIDValidity makes sure later allocations are above v.
func raiseUIDValidity(ctx context.Context, tx *sql.Tx, v uint32) error {
	_, err := tx.ExecContext(ctx, `UPDATE counters SET value = max(value, ?) WHERE name = 'uidvalidity'`, int64(v))
	return err
}

// AllocUIDValidity allocates a UIDVALIDITY value never given before (for
// a folder whose index is rebuilt under a new one).
func (d *DB) AllocUIDValidity(ctx context.Context) (uint32, error) {
	var v uint32
	err := d.write(ctx, "allocate uidvalidity", func(tx *sql.Tx) error {
		var err error
		v, err = d.nextUIDValidity(ctx, tx)
		return err
	})
	return v, err
}

func exists(ctx context.Context, tx *sql.Tx, user, name string) (bool, error) {
	var n int
	err := tx.QueryRowContext(ctx, `SELECT count(*) FROM folders WHERE user = ? AND name = ?`, user, name).Scan(&n)
	return n > 0, err
}

// Create adds a folder with a new UIDVALIDITY (f.UIDValidity, Created are
// set here; f.Subscribed subscribes it). fn, if not nil, runs inside the
// transaction with the new row (to create the folder on disk); its error
// undoes the row. Create returns ErrExists if the folder is listed.
func (d *DB) Create(ctx context.Context, f Folder, fn func(Folder) error) (Folder, error) {
	err := d.write(ctx, "create "+f.Name+" of "+f.User, func(tx *sql.Tx) error {
		ok, err := exists(ctx, tx, f.User, f.Name)
		if err != nil {
			return err
		}
		if ok {
			return fmt.Errorf("%s of %s: %w", f.Name, f.User, ErrExists)
		}
		if f.UIDValidity, err = d.nextUIDValidity(ctx, tx); err != nil {
			return err
		}
		f.Created = d.now()
		if err := insert(ctx, tx, f); err != nil {
			return err
		}
		if fn != nil {
			return fn(f)
		}
		return nil
	})
	return f, err
}

func insert(ctx context.Context, tx *sql.Tx, f Folder) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO folders
		(user, name, uidvalidity, specialuse, messages, size, expunged, quotaused, created, lastrepair)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		f.User, f.Name, int64(f.UIDValidity), f.SpecialUse, int64(f.Messages), f.Size,
		int64(f.Expunged), f.QuotaUsed, toNanos(f.Created), toNanos(f.LastRepair))
	if err != nil {
		return err
	}
	if f.Subscribed {
		_, err = tx.ExecContext(ctx, `INSERT OR IGNORE INTO subscriptions (user, name) VALUES (?, ?)`, f.User, f.Name)
	}
	return err
}

// Put inserts or replaces a folder row as given (reconstruct uses it to
// record what it found); f.Subscribed true subscribes it, false leaves
// subscriptions alone. The UIDVALIDITY counter is raised to at least
// f.UIDValidity.
func (d *DB) Put(ctx context.Context, f Folder) error {
	return d.write(ctx, "put "+f.Name+" of "+f.User, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM folders WHERE user = ? AND name = ?`, f.User, f.Name); err != nil {
			return err
		}
		if f.Created.IsZero() {
			f.Created = d.now()
		}
		if err := insert(ctx, tx, f); err != nil {
			return err
		}
		return raiseUIDValidity(ctx, tx, f.UIDValidity)
	})
}

// Delete removes a folder's row (not its subscription: IMAP keeps those).
// fn, if not nil, runs inside the transaction with the row as it was (to
// remove the folder on disk); its error keeps the row.
func (d *DB) Delete(ctx context.Context, user, name string, fn func(Folder) error) error {
	return d.write(ctx, "delete "+name+" of "+user, func(tx *sql.Tx) error {
		f, err := scanFolder(tx.QueryRowContext(ctx, `SELECT `+folderCols+` FROM folders f WHERE f.user = ? AND f.name = ?`, user, name))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%s of %s: %w", name, user, ErrNotFound)
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM folders WHERE user = ? AND name = ?`, user, name); err != nil {
			return err
		}
		if fn != nil {
			return fn(f)
		}
		return nil
	})
}

// Rename is one folder's old and new name in a RENAME.
type Rename struct{ Old, New string }

// Rename renames folder oldName and every folder below it (oldName + "/"
// + ...) to newName (and below), moving their subscriptions with them.
// It returns ErrNotFound if oldName is not listed and ErrExists if any
// new name is. fn, if not nil, runs inside the transaction with the list
// of renames (parents first) to move the folders on disk; its error undoes
// the rows.
func (d *DB) Rename(ctx context.Context, user, oldName, newName string, fn func([]Rename) error) error {
	return d.write(ctx, "rename "+oldName+" of "+user, func(tx *sql.Tx) error {
		names, err := familyOf(ctx, tx, user, oldName)
		if err != nil {
			return err
		}
		if len(names) == 0 || names[0] != oldName {
			return fmt.Errorf("%s of %s: %w", oldName, user, ErrNotFound)
		}
		renames := make([]Rename, len(names))
		for i, n := range names {
			renames[i] = Rename{Old: n, New: newName + n[len(oldName):]}
			ok, err := exists(ctx, tx, user, renames[i].New)
			if err != nil {
				return err
			}
			if ok {
				return fmt.Errorf("%s of %s: %w", renames[i].New, user, ErrExists)
			}
		}
		for _, r := range renames {
			if err := renameRow(ctx, tx, user, r); err != nil {
				return err
			}
		}
		if fn != nil {
			return fn(renames)
		}
		return nil
	})
}

// familyOf lists name and the folders below it, sorted (parents first).
func familyOf(ctx context.Context, tx *sql.Tx, user, name string) ([]string, error) {
	prefix := name + "/"
	rows, err := tx.QueryContext(ctx, `SELECT name FROM folders WHERE user = ?
		AND (name = ? OR substr(name, 1, length(?)) = ?) ORDER BY name`, user, name, prefix, prefix)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	sort.Strings(out)
	return out, rows.Err()
}

func renameRow(ctx context.Context, tx *sql.Tx, user string, r Rename) error {
	if _, err := tx.ExecContext(ctx, `UPDATE folders SET name = ? WHERE user = ? AND name = ?`, r.New, user, r.Old); err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM subscriptions WHERE user = ? AND name = ?`, user, r.Old)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n > 0 {
		_, err = tx.ExecContext(ctx, `INSERT OR IGNORE INTO subscriptions (user, name) VALUES (?, ?)`, user, r.New)
	}
	return err
}

// UpdateCounts stores a folder's figures as read from its index, if they
// differ from the stored ones. A folder no longer listed is ignored.
func (d *DB) UpdateCounts(ctx context.Context, user, name string, c Counts) error {
	_, err := d.db.ExecContext(ctx, `UPDATE folders SET messages = ?, size = ?
		WHERE user = ? AND name = ? AND (messages != ? OR size != ?)`,
		int64(c.Messages), c.Size, user, name, int64(c.Messages), c.Size)
	if err != nil {
		return fmt.Errorf("mboxlist: update counts of %s of %s: %w", name, user, err)
	}
	return nil
}

// AddExpunged adds n to a folder's expunged count (records removed from
// its index since it was created). A folder no longer listed is ignored.
func (d *DB) AddExpunged(ctx context.Context, user, name string, n uint64) error {
	_, err := d.db.ExecContext(ctx, `UPDATE folders SET expunged = expunged + ? WHERE user = ? AND name = ?`,
		int64(n), user, name)
	if err != nil {
		return fmt.Errorf("mboxlist: add expunged to %s of %s: %w", name, user, err)
	}
	return nil
}

// SetQuotaUsed records the bytes a folder counts against its user's quota.
func (d *DB) SetQuotaUsed(ctx context.Context, user, name string, bytes int64) error {
	_, err := d.db.ExecContext(ctx, `UPDATE folders SET quotaused = ? WHERE user = ? AND name = ?`, bytes, user, name)
	if err != nil {
		return fmt.Errorf("mboxlist: set quota use of %s of %s: %w", name, user, err)
	}
	return nil
}

// SetRepaired records a folder's last repair time.
func (d *DB) SetRepaired(ctx context.Context, user, name string, t time.Time) error {
	_, err := d.db.ExecContext(ctx, `UPDATE folders SET lastrepair = ? WHERE user = ? AND name = ?`, toNanos(t), user, name)
	if err != nil {
		return fmt.Errorf("mboxlist: set repair time of %s of %s: %w", name, user, err)
	}
	return nil
}
