package imapd

import "sync"

// hub wakes the idle sessions of this process that have a folder
// selected when another session of the process changed it.
type hub struct {
	mu   sync.Mutex
	subs map[string]map[*subscription]struct{} // folder dir -> subscribers
}

type subscription struct {
	dir  string
	kick chan struct{} // capacity 1
}

func newHub() *hub { return &hub{subs: map[string]map[*subscription]struct{}{}} }

func (h *hub) subscribe(dir string) *subscription {
	sub := &subscription{dir: dir, kick: make(chan struct{}, 1)}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.subs[dir] == nil {
		h.subs[dir] = map[*subscription]struct{}{}
	}
	h.subs[dir][sub] = struct{}{}
	return sub
}

func (h *hub) unsubscribe(sub *subscription) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.subs[sub.dir], sub)
	if len(h.subs[sub.dir]) == 0 {
		delete(h.subs, sub.dir)
	}
}

// notify wakes every subscriber of dir except from.
func (h *hub) notify(dir string, from *subscription) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for sub := range h.subs[dir] {
		if sub == from {
			continue
		}
		select {
		case sub.kick <- struct{}{}:
		default:
		}
	}
}
