package mailbox

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"

	"github.com/fsnotify/fsnotify"
)

// Watcher is one inotify instance shared by every view of a process
// (Options.Watcher). Without it each view that Waits makes its own, and
// the kernel's default limit of 128 instances per user is soon reached;
// views then fall back to polling.
type Watcher struct {
	fw     *fsnotify.Watcher
	logger *slog.Logger

	mu   sync.Mutex
	dirs map[string]map[chan struct{}]struct{}
	done chan struct{}
}

// NewWatcher starts a shared watcher. Close it when the process is done.
func NewWatcher(logger *slog.Logger) (*Watcher, error) {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("inotify: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	w := &Watcher{fw: fw, logger: logger, dirs: map[string]map[chan struct{}]struct{}{}, done: make(chan struct{})}
	go w.loop()
	return w, nil
}

// Close stops the watcher; waiting views fall back to polling.
func (w *Watcher) Close() error {
	err := w.fw.Close()
	<-w.done
	return err
}

func (w *Watcher) loop() {
	defer close(w.done)
	for {
		select {
		case ev, ok := <-w.fw.Events:
			if !ok {
				return
			}
			if filepath.Base(ev.Name) == idxName {
				w.notify(filepath.Dir(ev.Name))
			}
		case err, ok := <-w.fw.Errors:
			if !ok {
				return
			}
			// Queue overflow: events were lost, so wake everyone.
			w.logger.Warn("folder watcher", "err", err)
			w.notifyAll()
		}
	}
}

func (w *Watcher) notify(dir string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for ch := range w.dirs[dir] {
		wake(ch)
	}
}

func (w *Watcher) notifyAll() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, subs := range w.dirs {
		for ch := range subs {
			wake(ch)
		}
	}
}

func wake(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// subscribe returns a channel that receives (coalesced) wake-ups when the
// store.idx of dir changes, and a function to cancel it.
func (w *Watcher) subscribe(dir string) (chan struct{}, func(), error) {
	dir = filepath.Clean(dir)
	w.mu.Lock()
	defer w.mu.Unlock()
	subs := w.dirs[dir]
	if subs == nil {
		if err := w.fw.Add(dir); err != nil {
			return nil, nil, fmt.Errorf("watch %s: %w", dir, err)
		}
		subs = map[chan struct{}]struct{}{}
		w.dirs[dir] = subs
	}
	ch := make(chan struct{}, 1)
	subs[ch] = struct{}{}
	cancel := func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		delete(subs, ch)
		if len(subs) == 0 && w.dirs[dir] != nil {
			delete(w.dirs, dir)
			_ = w.fw.Remove(dir)
		}
	}
	return ch, cancel, nil
}
