package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"msgplex/counters"
	"msgplex/directory/dirconfig"
	"msgplex/store"
	"msgplex/store/imapd"
	"msgplex/store/index"
	"msgplex/store/message"
)

func init() {
	register("store", "run the message store's IMAP server", runStore)
}

// runStore is `msgplex store --config FILE`. service.imap.numprocesses is
// read but, until the dispatcher and worker processes exist, one process
// serves every session.
func runStore(args []string) int {
	fs := flag.NewFlagSet("store", flag.ContinueOnError)
	cfgPath := configFlag(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, ok := loadConfig(*cfgPath)
	if !ok {
		return 1
	}
	log := newLogger(cfg.Log, "store")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir, err := dirconfig.Open(ctx, cfg.Directory, log)
	if err != nil {
		log.Error("open directory", "err", err)
		return 1
	}
	defer dir.Close()
	budget := index.NewBudget(int64(cfg.Service.IMAP.VMBudget))
	st, err := store.Open(store.Options{
		DataRoot:  cfg.Store.DataRoot,
		Budget:    budget,
		Watch:     true,
		Summarize: message.Summarize,
		Logger:    log,
	})
	if err != nil {
		log.Error("open store", "err", err)
		return 1
	}
	defer st.Close()
	var tlsConf *tls.Config
	if c := cfg.Service.IMAP; c.TLSCert != "" && c.TLSKey != "" {
		cert, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey)
		if err != nil {
			log.Error("load TLS certificate", "err", err)
			return 1
		}
		tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}}
	}
	ctr := counters.New(time.Now())
	srv, err := imapd.New(imapd.Options{
		Backend:        imapd.StoreBackend(st),
		Directory:      dir,
		AdminUser:      cfg.Store.Admin.User,
		AdminPassword:  cfg.Store.Admin.Password,
		TrustedProxies: cfg.Store.TrustedProxies,
		AllowPlaintext: cfg.Service.IMAP.AllowPlaintext,
		TLSConfig:      tlsConf,
		AppendLimit:    int64(cfg.Store.AppendLimit),
		Logger:         log,
		Counters:       ctr,
	})
	if err != nil {
		log.Error("imapd", "err", err)
		return 1
	}
	ln, err := net.Listen("tcp", cfg.Service.IMAP.Listen)
	if err != nil {
		log.Error("listen", "addr", cfg.Service.IMAP.Listen, "err", err)
		return 1
	}
	log.Info("store listening", "addr", ln.Addr().String(), "dataroot", cfg.Store.DataRoot,
		"numprocesses", cfg.Service.IMAP.NumProcesses, "note", "single process serves all sessions")
	fmt.Fprintf(os.Stderr, "msgplex store: listening on %s\n", ln.Addr())

	published := make(chan struct{})
	go func() {
		defer close(published)
		publishStoreCounters(ctx, ctr, budget, cfg.Store.DataRoot, log)
	}()
	defer func() { cancel(); <-published }()

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case s := <-sig:
		log.Info("shutting down", "signal", s.String())
		srv.Close()
		<-done
		return 0
	case err := <-done:
		if err != nil && !errors.Is(err, imapd.ErrServerClosed) {
			log.Error("serve", "err", err)
			return 1
		}
		return 0
	}
}

// publishStoreCounters keeps the worker gauges (sessions, mapped index
// bytes, budget, evictions) current and writes the store's counters file
// for `counterutil --service store` every second until ctx ends. One
// process serves every session for now, so there is one worker, 0.
func publishStoreCounters(ctx context.Context, ctr *counters.Set, b *index.Budget, dataroot string, log *slog.Logger) {
	sessions := ctr.Gauge("worker.0.sessions")
	mapped := ctr.Gauge("worker.0.mappedbytes")
	limit := ctr.Gauge("worker.0.budget")
	windows := ctr.Gauge("worker.0.windows")
	evictions := ctr.Gauge("worker.0.evictions")
	update := func() {
		st := b.Stats()
		sessions.Store(ctr.Current())
		mapped.Store(st.Mapped)
		limit.Store(st.Limit)
		windows.Store(int64(st.Windows))
		evictions.Store(int64(st.Evictions))
	}
	update()
	path := counters.FileFor("store", dataroot)
	pctx, stop := context.WithCancel(context.Background())
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				update()
				stop()
				return
			case <-t.C:
				update()
			}
		}
	}()
	counters.Publish(pctx, ctr, path, "store", time.Second, log)
}
