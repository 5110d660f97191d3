package benchstore

import (
	"bytes"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// server is what the measurements need to know about a running store.
type server struct {
	Name string
	Addr string
	Pass string // every user's password
	// Root is the pid at the top of the server's process tree.
	Root func() int
}

// appendClient logs in with imapclient.
func appendClient(srv server, user string) (*imapclient.Client, error) {
	c, err := imapclient.DialInsecure(srv.Addr, nil)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", srv.Addr, err)
	}
	if err := c.Login(user, srv.Pass).Wait(); err != nil {
		c.Close()
		return nil, fmt.Errorf("login %s: %w", user, err)
	}
	return c, nil
}

// appendOne APPENDs body with flags to INBOX and waits for the tagged OK.
func appendOne(c *imapclient.Client, body []byte, flags []string) (imap.UID, error) {
	var opts *imap.AppendOptions
	if len(flags) > 0 {
		opts = &imap.AppendOptions{}
		for _, f := range flags {
			opts.Flags = append(opts.Flags, imap.Flag(f))
		}
	}
	cmd := c.Append("INBOX", int64(len(body)), opts)
	if _, err := cmd.Write(body); err != nil {
		cmd.Close()
		return 0, fmt.Errorf("append write: %w", err)
	}
	if err := cmd.Close(); err != nil {
		return 0, fmt.Errorf("append close: %w", err)
	}
	data, err := cmd.Wait()
	if err != nil {
		return 0, fmt.Errorf("append: %w", err)
	}
	return data.UID, nil
}

// appendResult is one APPEND-rate run.
type appendResult struct {
	Msgs    int
	Bytes   int64
	Elapsed time.Duration
}

func (r appendResult) rate() float64 { return float64(r.Msgs) / r.Elapsed.Seconds() }

// appendRate has clients connections APPEND to user's INBOX, message i of
// the run being msgs[i%len(msgs)], until max messages are acknowledged or
// maxDur has passed.
func appendRate(srv server, user string, msgs [][]byte, clients, max int, maxDur time.Duration) (appendResult, error) {
	conns := make([]*imapclient.Client, clients)
	for i := range conns {
		c, err := appendClient(srv, user)
		if err != nil {
			return appendResult{}, err
		}
		defer c.Close()
		conns[i] = c
	}
	var (
		next     atomic.Int64
		acked    atomic.Int64
		bytesOut atomic.Int64
		wg       sync.WaitGroup
		errMu    sync.Mutex
		firstErr error
	)
	start := time.Now()
	deadline := start.Add(maxDur)
	for _, c := range conns {
		wg.Add(1)
		go func(c *imapclient.Client) {
			defer wg.Done()
			for time.Now().Before(deadline) {
				i := int(next.Add(1) - 1)
				if i >= max {
					return
				}
				body := msgs[i%len(msgs)]
				if _, err := appendOne(c, body, nil); err != nil {
					errMu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					errMu.Unlock()
					return
				}
				acked.Add(1)
				bytesOut.Add(int64(len(body)))
			}
		}(c)
	}
	wg.Wait()
	res := appendResult{Msgs: int(acked.Load()), Bytes: bytesOut.Load(), Elapsed: time.Since(start)}
	if firstErr != nil {
		return res, firstErr
	}
	if res.Msgs == 0 {
		return res, fmt.Errorf("no APPEND acknowledged")
	}
	return res, nil
}

// latencies is a set of measured round trips.
type latencies []time.Duration

func (l latencies) quantile(q float64) time.Duration {
	s := append(latencies(nil), l...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s) == 0 {
		return 0
	}
	i := int(q * float64(len(s)-1))
	return s[i]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// selectLatency logs in as user and times `SELECT mailbox` reps times
// (at most maxDur), after warm untimed ones. It checks that the folder
// has want messages (EXISTS).
func selectLatency(srv server, user, mailbox string, want, reps int, maxDur time.Duration) (latencies, error) {
	rc, err := dialLogin(srv.Addr, user, srv.Pass, "")
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return timeCommand(rc, "SELECT "+quote(mailbox), want, warmReps, reps, maxDur)
}

// firstSelectLatency times the first `SELECT mailbox` of new sessions:
// reps times (at most maxDur) it logs in on a new connection (untimed)
// and times one SELECT. This includes opening the folder in the session,
// which repeated SELECTs on one connection may find already open.
func firstSelectLatency(srv server, user, mailbox string, want, reps int, maxDur time.Duration) (latencies, error) {
	var lat latencies
	deadline := time.Now().Add(maxDur)
	for i := 0; i < warmReps+reps && time.Now().Before(deadline); i++ {
		rc, err := dialLogin(srv.Addr, user, srv.Pass, "")
		if err != nil {
			return lat, err
		}
		l, err := timeCommand(rc, "SELECT "+quote(mailbox), want, 0, 1, maxDur)
		rc.Close()
		if err != nil {
			return lat, err
		}
		if i >= warmReps {
			lat = append(lat, l...)
		}
	}
	if len(lat) == 0 {
		return nil, fmt.Errorf("SELECT in new sessions: no timed run within %v", maxDur)
	}
	return lat, nil
}

// statusLatency is selectLatency for STATUS (MESSAGES UIDNEXT UNSEEN) on
// a connection with nothing selected.
func statusLatency(srv server, user, mailbox string, want, reps int, maxDur time.Duration) (latencies, error) {
	rc, err := dialLogin(srv.Addr, user, srv.Pass, "")
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return timeCommand(rc, "STATUS "+quote(mailbox)+" (MESSAGES UIDNEXT UNSEEN)", want, warmReps, reps, maxDur)
}

// warmReps are untimed runs before timing (page cache, lazy opens).
const warmReps = 3

// timeCommand runs text warm times untimed, then reps times timed (at
// most maxDur in all), checking the message count each time.
func timeCommand(rc *rawConn, text string, want, warm, reps int, maxDur time.Duration) (latencies, error) {
	var lat latencies
	deadline := time.Now().Add(maxDur)
	for i := 0; i < warm+reps && time.Now().Before(deadline); i++ {
		exists := -1
		t0 := time.Now()
		_, err := rc.cmd(text, func(line []byte) { exists = countFrom(line, exists) })
		d := time.Since(t0)
		if err != nil {
			return lat, err
		}
		if exists != want {
			return lat, fmt.Errorf("%s: %d messages, want %d", text, exists, want)
		}
		if i >= warm {
			lat = append(lat, d)
		}
	}
	if len(lat) == 0 {
		return nil, fmt.Errorf("%s: no timed run within %v", text, maxDur)
	}
	return lat, nil
}

// countFrom reads the message count of "* N EXISTS" or of a STATUS
// response's MESSAGES item, else returns old.
func countFrom(line []byte, old int) int {
	var n int
	if _, err := fmt.Sscanf(string(line), "* %d EXISTS", &n); err == nil {
		return n
	}
	if i := bytes.Index(line, []byte("MESSAGES ")); i >= 0 && bytes.HasPrefix(line, []byte("* STATUS")) {
		if _, err := fmt.Sscanf(string(line[i:]), "MESSAGES %d", &n); err == nil {
			return n
		}
	}
	return old
}

// fetchFlags SELECTs mailbox (untimed) and times one
// `UID FETCH 1:* (FLAGS)`, checking that want FETCH responses arrive.
func fetchFlags(srv server, user, mailbox string, want int) (time.Duration, error) {
	rc, err := dialLogin(srv.Addr, user, srv.Pass, mailbox)
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	n := 0
	fetch := []byte(" FETCH ")
	t0 := time.Now()
	_, err = rc.cmd("UID FETCH 1:* (FLAGS)", func(line []byte) {
		if bytes.Contains(line, fetch) {
			n++
		}
	})
	d := time.Since(t0)
	if err != nil {
		return d, err
	}
	if n != want {
		return d, fmt.Errorf("UID FETCH 1:* (FLAGS): %d responses, want %d", n, want)
	}
	return d, nil
}

// bodyFetch SELECTs mailbox and fetches `UID FETCH uid (BODY.PEEK[])`
// reps times after one untimed run, checking the literal size each time.
// It returns the bytes fetched in the timed runs and their time.
func bodyFetch(srv server, user string, uid imap.UID, size int64, reps int, maxDur time.Duration) (int64, time.Duration, error) {
	rc, err := dialLogin(srv.Addr, user, srv.Pass, "INBOX")
	if err != nil {
		return 0, 0, err
	}
	defer rc.Close()
	var total int64
	var elapsed time.Duration
	deadline := time.Now().Add(maxDur)
	for i := 0; i < 1+reps && time.Now().Before(deadline); i++ {
		t0 := time.Now()
		n, err := rc.cmd(fmt.Sprintf("UID FETCH %d (BODY.PEEK[])", uid), nil)
		d := time.Since(t0)
		if err != nil {
			return total, elapsed, err
		}
		if n != size {
			return total, elapsed, fmt.Errorf("BODY[] of UID %d: %d bytes, want %d", uid, n, size)
		}
		if i > 0 {
			total += n
			elapsed += d
		}
	}
	if total == 0 {
		return 0, 0, fmt.Errorf("BODY[]: no timed run within %v", maxDur)
	}
	return total, elapsed, nil
}

// idleResult is the memory growth for N idle selected sessions.
type idleResult struct {
	Sessions       int
	Before, After  procMem
	RSSPer, PSSPer float64 // bytes per session
	// Imap is the After sum over processes named "imap" alone (Dovecot's
	// one-per-session processes; none for msgplex).
	Imap procMem
}

// idleMemory opens n sessions that log in as user and SELECT INBOX,
// lets the server settle, and measures its process tree's growth.
func idleMemory(srv server, user string, n int, settle time.Duration) (idleResult, error) {
	res := idleResult{Sessions: n}
	var err error
	time.Sleep(settle)
	if res.Before, err = treeMem(srv.Root(), nil); err != nil {
		return res, err
	}
	conns := make([]*rawConn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < n; i++ {
		c, err := dialLogin(srv.Addr, user, srv.Pass, "INBOX")
		if err != nil {
			return res, fmt.Errorf("session %d: %w", i, err)
		}
		conns = append(conns, c)
	}
	time.Sleep(settle)
	if res.After, err = treeMem(srv.Root(), nil); err != nil {
		return res, err
	}
	if res.Imap, err = treeMem(srv.Root(), func(comm string) bool { return comm == "imap" }); err != nil {
		return res, err
	}
	res.RSSPer = float64(res.After.RSS-res.Before.RSS) / float64(n)
	res.PSSPer = float64(res.After.PSS-res.Before.PSS) / float64(n)
	return res, nil
}
