package backend

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"time"
)

// storeInfo is what one store address said at its last successful login:
// enough to skip round trips on the next one.
type storeInfo struct {
	at        time.Time
	pipeline  bool     // greeting offered AUTH=PLAIN and SASL-IR: send the login before reading it
	postLogin []string // post-login capabilities, when the store's OK carried none
}

// hostAddrs is a cached resolution of a mail host name.
type hostAddrs struct {
	at    time.Time
	addrs []string // "ip:port"
}

// readerSize holds a login's responses (greeting, tagged OK with
// capabilities); longer lines are read in pieces.
const readerSize = 1024

// reader is a pooled reader on conn; give it back with putReader.
func (d *Dialer) reader(conn net.Conn) *bufio.Reader {
	if r, ok := d.bufs.Get().(*bufio.Reader); ok {
		r.Reset(conn)
		return r
	}
	return bufio.NewReaderSize(conn, readerSize)
}

func (d *Dialer) putReader(r *bufio.Reader) {
	r.Reset(nil)
	d.bufs.Put(r)
}

// known returns what addr said within ttl.
func (d *Dialer) known(addr string) storeInfo {
	d.mu.Lock()
	defer d.mu.Unlock()
	si, ok := d.info[addr]
	if !ok || d.opts.CacheTTL < 0 || d.opts.Now().Sub(si.at) >= d.opts.CacheTTL {
		return storeInfo{}
	}
	return si
}

func (d *Dialer) remember(addr string, si storeInfo) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.opts.CacheTTL < 0 {
		return
	}
	if len(d.info) >= maxCacheEntries {
		clear(d.info)
	}
	si.at = d.opts.Now()
	d.info[addr] = si
}

func (d *Dialer) forget(addr string) {
	d.mu.Lock()
	delete(d.info, addr)
	d.mu.Unlock()
}

// maxCacheEntries bounds each cache; past it the cache starts over.
const maxCacheEntries = 10000

// lookup resolves host through the cache; successful answers are kept for
// CacheTTL.
func (d *Dialer) lookup(ctx context.Context, host, port string) ([]string, error) {
	key := host + " " + port
	d.mu.Lock()
	h, ok := d.hosts[key]
	fresh := ok && d.opts.CacheTTL >= 0 && d.opts.Now().Sub(h.at) < d.opts.CacheTTL
	lookupHost := d.opts.LookupHost
	d.mu.Unlock()
	if fresh {
		return h.addrs, nil
	}
	addrs, err := lookupHost(ctx, host)
	if err != nil {
		return nil, fmt.Errorf("resolve: %w", err)
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("resolve %s: no addresses", host)
	}
	out := make([]string, len(addrs))
	for i, ip := range addrs {
		out[i] = net.JoinHostPort(ip, port)
	}
	d.mu.Lock()
	if d.opts.CacheTTL >= 0 {
		if len(d.hosts) >= maxCacheEntries {
			clear(d.hosts)
		}
		d.hosts[key] = hostAddrs{at: d.opts.Now(), addrs: out}
	}
	d.mu.Unlock()
	return out, nil
}
