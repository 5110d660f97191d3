package mailbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// folderLock is a flock on a folder's store.lock.
type folderLock struct{ f *os.File }

func lockFolder(dir string, how int) (*folderLock, error) {
	f, err := os.OpenFile(filepath.Join(dir, lockName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("lock %s: %w", dir, ErrNotFound)
		}
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	for {
		err = unix.Flock(int(f.Fd()), how)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("flock %s: %w", f.Name(), err)
	}
	return &folderLock{f: f}, nil
}

func (l *folderLock) unlock() {
	_ = unix.Flock(int(l.f.Fd()), unix.LOCK_UN)
	_ = l.f.Close()
}

// Lock takes a folder's writer lock (blocking) for tools that change its
// files outside this package (cleanup renaming store.exp). Call the
// returned function to release it. Never call another writer of this
// package on the same folder while holding it: flock is per open file, so
// that would deadlock.
func Lock(dir string) (unlock func(), err error) {
	l, err := lockFolder(dir, unix.LOCK_EX)
	if err != nil {
		return nil, err
	}
	return l.unlock, nil
}

// syncDir fsyncs a directory so renames and new entries in it are durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open dir %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync dir %s: %w", dir, err)
	}
	return nil
}

// datasync is fdatasync: the data and the size, not the times.
func datasync(f *os.File) error {
	for {
		err := unix.Fdatasync(int(f.Fd()))
		if err != unix.EINTR {
			if err != nil {
				return fmt.Errorf("fdatasync %s: %w", f.Name(), err)
			}
			return nil
		}
	}
}
