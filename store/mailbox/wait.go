package mailbox

import (
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// pollInterval bounds how long Wait sleeps without a notice (and is the
// poll period when inotify is unavailable).
const pollInterval = 3 * time.Second

// Wait returns when the folder may have changed (another writer), when
// stop is closed, or after at most a few seconds; callers then Sync.
func (m *Mailbox) Wait(stop <-chan struct{}) {
	every := m.pollEvery
	if every == 0 {
		every = pollInterval
	}
	timer := time.NewTimer(every)
	defer timer.Stop()
	if m.opts.Watcher != nil {
		if ch := m.subscription(); ch != nil {
			select {
			case <-stop:
			case <-timer.C:
			case <-ch:
			}
			return
		}
	}
	w := m.watch()
	if w == nil {
		select {
		case <-stop:
		case <-timer.C:
		}
		return
	}
	for {
		select {
		case <-stop:
			return
		case <-timer.C:
			return
		case ev, ok := <-w.Events:
			if !ok || filepath.Base(ev.Name) == idxName {
				return
			}
		case _, ok := <-w.Errors:
			if !ok {
				return
			}
			return
		}
	}
}

// subscription returns the view's channel from the shared watcher,
// subscribing on first use (until Close); nil if that fails.
func (m *Mailbox) subscription() chan struct{} {
	m.wmu.Lock()
	defer m.wmu.Unlock()
	if m.closed || m.werr != nil {
		return nil
	}
	if m.sub == nil {
		ch, cancel, err := m.opts.Watcher.subscribe(m.dir)
		if err != nil {
			m.werr = err
			m.opts.logger().Warn("folder watch unavailable, polling", "dir", m.dir, "err", err)
			return nil
		}
		m.sub, m.unsub = ch, cancel
	}
	return m.sub
}

// watch returns the view's inotify watcher on the folder, made on first
// use; nil if it cannot be had (then Wait polls).
func (m *Mailbox) watch() *fsnotify.Watcher {
	m.wmu.Lock()
	defer m.wmu.Unlock()
	if m.closed || m.werr != nil {
		return nil
	}
	if m.watcher == nil {
		w, err := fsnotify.NewWatcher()
		if err == nil {
			if err = w.Add(m.dir); err != nil {
				w.Close()
			}
		}
		if err != nil {
			m.werr = err
			m.opts.logger().Warn("folder watch unavailable, polling", "dir", m.dir, "err", err)
			return nil
		}
		m.watcher = w
	}
	return m.watcher
}
