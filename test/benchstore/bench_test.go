package benchstore

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
)

// BenchmarkStore measures reads on Dovecot, then on msgplex, then writes
// on fresh instances of both in alternating rounds, with the same
// messages and the same client code; scripts/bench.sh pairs the figures.
func BenchmarkStore(b *testing.B) {
	sc := scaleFromEnv(b)
	rec := newRecorder(b)
	msgs := loadCorpus(b)
	b.Logf("scale %s: folders %v (+%v msgplex only), corpus %d messages, %d bytes",
		sc.Name, sc.Sizes, sc.MsgplexOnly, len(msgs), corpusBytes(msgs))
	b.Run("dovecot", func(b *testing.B) { benchDovecot(b, sc, rec, msgs) })
	b.Run("msgplex", func(b *testing.B) { benchMsgplex(b, sc, rec, msgs) })
	b.Run("write", func(b *testing.B) { benchWrites(b, sc, rec, msgs) })
}

// folderUser is the user whose INBOX holds the built folder of n
// messages. Lower case: Dovecot lower-cases user names (%Lu).
func folderUser(n int) string { return "f" + strings.ToLower(humanCount(n)) }

// figure runs one measurement as a sub-benchmark; an error is recorded
// as a missing figure (with its reason) and fails the sub-benchmark.
// outs are the recorded figure names marked missing on error.
func figure(b *testing.B, rec *recorder, name, server string, outs []string, run func(b *testing.B) error) {
	b.Run(name, func(b *testing.B) {
		if err := run(b); err != nil {
			for _, o := range outs {
				rec.missing(o, server, err)
			}
			b.Error(err)
		}
	})
}

func names(ns ...string) []string { return ns }

// readFigures measures the figures that only read built folders: idle
// session memory (on the smallest folder), then SELECT and STATUS latency
// on every size, and the FLAGS fetch rate on sizes listed in fetchSizes.
func readFigures(b *testing.B, sc scale, rec *recorder, srv server, sizes []int, fetchSizes map[int]bool) {
	if len(sizes) > 0 && sizes[0] == sc.Sizes[0] {
		user := folderUser(sizes[0])
		figure(b, rec, "idle", srv.Name, names("idle-rss", "idle-pss"), func(b *testing.B) error {
			res, err := idleMemory(srv, user, sc.IdleSessions, 2*time.Second)
			if err != nil {
				return err
			}
			note := fmt.Sprintf("%d sessions SELECTed a %s folder; tree %d->%d procs, RSS %d->%d KiB",
				res.Sessions, humanCount(sizes[0]), res.Before.Procs, res.After.Procs, res.Before.RSS>>10, res.After.RSS>>10)
			rec.add(b, "idle-rss", srv.Name, res.RSSPer/1024, "KiB/session-rss", note)
			pssNote := ""
			if res.Imap.Procs > 0 {
				pssNote = fmt.Sprintf("the %d imap processes alone: RSS %d KiB, PSS %d KiB per session",
					res.Imap.Procs, res.Imap.RSS/1024/int64(res.Sessions), res.Imap.PSS/1024/int64(res.Sessions))
			}
			rec.add(b, "idle-pss", srv.Name, res.PSSPer/1024, "KiB/session-pss", pssNote)
			return nil
		})
	}
	for _, n := range sizes {
		user, h := folderUser(n), humanCount(n)
		figure(b, rec, "select-"+h, srv.Name, names("select-"+h+"-p50", "select-"+h+"-p99"), func(b *testing.B) error {
			lat, err := selectLatency(srv, user, "INBOX", n, sc.SelectReps, 2*time.Minute)
			if err != nil {
				return err
			}
			rec.add(b, "select-"+h+"-p50", srv.Name, ms(lat.quantile(0.5)), "ms-p50", fmt.Sprintf("%d SELECTs", len(lat)))
			rec.add(b, "select-"+h+"-p99", srv.Name, ms(lat.quantile(0.99)), "ms-p99", "")
			return nil
		})
		figure(b, rec, "select-new-"+h, srv.Name, names("select-new-"+h+"-p50", "select-new-"+h+"-p99"), func(b *testing.B) error {
			lat, err := firstSelectLatency(srv, user, "INBOX", n, max(sc.SelectReps/4, 10), 2*time.Minute)
			if err != nil {
				return err
			}
			rec.add(b, "select-new-"+h+"-p50", srv.Name, ms(lat.quantile(0.5)), "ms-p50", fmt.Sprintf("%d sessions", len(lat)))
			rec.add(b, "select-new-"+h+"-p99", srv.Name, ms(lat.quantile(0.99)), "ms-p99", "")
			return nil
		})
		figure(b, rec, "status-"+h, srv.Name, names("status-"+h+"-p50", "status-"+h+"-p99"), func(b *testing.B) error {
			lat, err := statusLatency(srv, user, "INBOX", n, sc.SelectReps, 2*time.Minute)
			if err != nil {
				return err
			}
			rec.add(b, "status-"+h+"-p50", srv.Name, ms(lat.quantile(0.5)), "ms-p50", fmt.Sprintf("%d STATUSes", len(lat)))
			rec.add(b, "status-"+h+"-p99", srv.Name, ms(lat.quantile(0.99)), "ms-p99", "")
			return nil
		})
		if !fetchSizes[n] {
			continue
		}
		figure(b, rec, "fetchflags-"+h, srv.Name, names("fetchflags-"+h), func(b *testing.B) error {
			d, err := fetchFlags(srv, user, "INBOX", n)
			if err != nil {
				return err
			}
			rec.add(b, "fetchflags-"+h, srv.Name, float64(n)/d.Seconds(), "msgs/s", fmt.Sprintf("%d in %v", n, d.Round(time.Millisecond)))
			return nil
		})
	}
}

// benchWrites starts a fresh Dovecot and a fresh msgplex store (empty
// users app1, app4, body) and measures APPEND rates in alternating rounds,
// so that both servers see the same background load on this shared
// machine, then BODY[] throughput on each.
func benchWrites(b *testing.B, sc scale, rec *recorder, msgs [][]byte) {
	tmp := workDir(b)
	d := startDovecot(b, filepath.Join(tmp, "dovecot"), filepath.Join(tmp, "dovecot-mail"))
	srvs := []server{
		{Name: "dovecot", Addr: d.Addr, Pass: dovecotPass, Root: d.pid},
		startMsgplex(b, filepath.Join(tmp, "msgplex"), msgplexUsers(b, tmp, sc)),
	}
	for _, clients := range []int{1, 4} {
		name := fmt.Sprintf("append-c%d", clients)
		user := fmt.Sprintf("app%d", clients)
		b.Run(name, func(b *testing.B) {
			rates := map[string][]float64{}
			errs := map[string]error{}
			for round := 0; round < sc.AppendRounds; round++ {
				for _, srv := range srvs {
					if errs[srv.Name] != nil {
						continue
					}
					res, err := appendRate(srv, user, msgs, clients, sc.AppendMax, sc.AppendDur)
					if err != nil {
						errs[srv.Name] = fmt.Errorf("round %d, after %d APPENDs: %w", round+1, res.Msgs, err)
						continue
					}
					rates[srv.Name] = append(rates[srv.Name], res.rate())
				}
			}
			for _, srv := range srvs {
				if err := errs[srv.Name]; err != nil {
					rec.missing(name, srv.Name, err)
					b.Error(err)
					continue
				}
				rec.addAs(b, name, srv.Name, median(rates[srv.Name]), "msgs/s", "msgs/s-"+srv.Name,
					fmt.Sprintf("median of %d rounds: %s", len(rates[srv.Name]), roundList(rates[srv.Name])))
			}
		})
	}
	for _, srv := range srvs {
		figure(b, rec, "body50m/"+srv.Name, srv.Name, names("body50m"), func(b *testing.B) error {
			return bodyFigure(b, sc, rec, srv)
		})
	}
}

// bodyFigure APPENDs one 50 MiB message for user body and times fetching it.
func bodyFigure(b *testing.B, sc scale, rec *recorder, srv server) error {
	big := bigMessage(bodySize)
	c, err := appendClient(srv, "body")
	if err != nil {
		return err
	}
	uid, err := appendOne(c, big, nil)
	c.Close()
	if err != nil {
		return err
	}
	if uid == 0 {
		uid = imap.UID(1) // the only message of a fresh folder
	}
	n, d, err := bodyFetch(srv, "body", uid, int64(len(big)), sc.BodyReps, 2*time.Minute)
	if err != nil {
		return err
	}
	rec.add(b, "body50m", srv.Name, float64(n)/1e6/d.Seconds(), "MB/s",
		fmt.Sprintf("%d fetches of %d bytes in %v", n/int64(len(big)), len(big), d.Round(time.Millisecond)))
	return nil
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

func roundList(v []float64) string {
	var parts []string
	for _, x := range v {
		parts = append(parts, fmt.Sprintf("%.0f", x))
	}
	return strings.Join(parts, " ")
}
