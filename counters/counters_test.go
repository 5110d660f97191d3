package counters

import (
	"context"
	"io"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func TestSetCounts(t *testing.T) {
	start := time.Unix(1000, 0)
	s := New(start)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 100; j++ {
				s.ConnOpened(time.Unix(2000, 0))
				s.LoginGood()
				s.ConnClosed()
			}
		}()
	}
	wg.Wait()
	s.ConnOpened(time.Unix(3000, 0))
	s.ConnFailed()
	s.LoginFailed()
	s.Gauge("worker.1.sessions").Store(7)
	snap := s.Snapshot()
	want := map[string]int64{
		CurrentStartTime: 1000, LastConnectionTime: 3000, NumConnections: 801,
		NumCurrentConnections: 1, NumFailedConnections: 1, NumFailedLogins: 1,
		NumGoodLogins: 800, "worker.1.sessions": 7,
	}
	for n, w := range want {
		if v, ok := snap.Get(n); !ok || v != w {
			t.Errorf("%s = %d (%v), want %d", n, v, ok, w)
		}
	}
	if m, _ := snap.Get(MaxConnections); m < 1 || m > 8 {
		t.Errorf("maxconnections %d not in 1..8", m)
	}
}

func TestFileRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s := New(time.Unix(5, 0))
	s.LoginGood()
	p := FileFor("proxy", dir)
	if err := WriteFile(p, "proxy", time.Now(), s.Snapshot()); err != nil {
		t.Fatal(err)
	}
	got, err := ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := got.Get(NumGoodLogins); v != 1 || len(got) != 8 {
		t.Fatalf("read back %v", got)
	}
	if FileFor("store", "/d") != filepath.Join("/d", "counters", "store.counters") {
		t.Fatal("store file path")
	}
	if _, err := Parse(strings.NewReader("global.x notanumber\n")); err == nil {
		t.Fatal("malformed accepted")
	}
}

func TestPublishWritesAtStop(t *testing.T) {
	dir := t.TempDir()
	s := New(time.Now())
	p := FileFor("proxy", dir)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { Publish(ctx, s, p, "proxy", time.Hour, nil); close(done) }()
	s.LoginFailed()
	cancel()
	<-done
	got, err := ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := got.Get(NumFailedLogins); v != 1 {
		t.Fatalf("final publish missing: %v", got)
	}
}

func TestPrometheus(t *testing.T) {
	s := New(time.Now())
	s.LoginGood()
	s.Counter("worker.1.evictions").Add(3)
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewCollector(s, "proxy"))
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		"msgplex_proxy_global_numgoodlogins 1",
		"# TYPE msgplex_proxy_global_numgoodlogins counter",
		"# TYPE msgplex_proxy_global_numcurrentconnections gauge",
		"msgplex_proxy_worker_1_evictions 3",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q:\n%s", want, body)
		}
	}
}
