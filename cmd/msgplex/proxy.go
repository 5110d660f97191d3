package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"msgplex/config"
	"msgplex/counters"
	"msgplex/directory"
	"msgplex/directory/dirconfig"
	"msgplex/proxy"
	"msgplex/proxy/sessionlog"
)

func init() {
	register("proxy", "run the IMAP proxy (multiplexor)", runProxy)
}

// directoryCloseDelay is how long a replaced directory stays open for
// logins already using it.
const directoryCloseDelay = time.Minute

func runProxy(args []string) int {
	fs := flag.NewFlagSet("proxy", flag.ContinueOnError)
	cfgPath := configFlag(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	c, ok := loadConfig(*cfgPath)
	if !ok {
		return 1
	}
	log := newLogger(c.Log, "proxy")
	if err := proxyMain(*cfgPath, c, log); err != nil {
		log.Error("proxy stopped", "err", err)
		return 1
	}
	return 0
}

func proxyMain(cfgPath string, c config.Config, log *slog.Logger) error {
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	certs := &certStore{}
	if err := certs.load(c.Proxy, log); err != nil {
		return err
	}
	tlsConf := certs.tlsConfig()
	sessLog, err := sessionlog.Open(sessionlog.Options{Path: c.Proxy.SessionLog, Format: c.Proxy.SessionLogFormat, Hostname: c.Proxy.Hostname})
	if err != nil {
		return err
	}
	defer sessLog.Close()
	dir, err := dirconfig.Open(ctx, c.Directory, log)
	if err != nil {
		return fmt.Errorf("directory: %w", err)
	}
	set := counters.New(time.Now())
	srv, err := proxy.New(proxy.Options{Config: c.Proxy, Directory: dir, TLSConfig: tlsConf, SessionLog: sessLog, Counters: set, Logger: log})
	if err != nil {
		return err
	}
	pubDone := make(chan struct{})
	go func() {
		defer close(pubDone)
		counters.Publish(ctx, set, counters.FileFor("proxy", c.Proxy.StateDir), "proxy", time.Second, log)
	}()
	errc := make(chan error, 3)
	if err := proxyListen(c.Proxy, srv, tlsConf, errc, log); err != nil {
		srv.Close()
		return err
	}
	if c.Proxy.MetricsListen != "" {
		ms := &http.Server{Addr: c.Proxy.MetricsListen, Handler: metricsMux(srv), ReadHeaderTimeout: 10 * time.Second}
		go func() { errc <- ms.ListenAndServe() }()
		defer ms.Close()
	}
	err = proxySignals(cfgPath, c, srv, sessLog, certs, errc, log)
	dir.Close()
	stop()
	<-pubDone
	return err
}

func metricsMux(srv *proxy.Server) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", srv.MetricsHandler())
	return mux
}

// certStore holds the current certificate; SIGHUP reloads it, so a
// renewed certificate is used without a restart.
type certStore struct {
	cur atomic.Pointer[tls.Certificate]
}

// load reads the certificate, creating the quickstart's self-signed one
// in proxy.statedir when none is configured.
func (cs *certStore) load(p config.Proxy, log *slog.Logger) error {
	cert, key := p.TLSCert, p.TLSKey
	if cert == "" && key == "" {
		var err error
		if cert, key, err = proxy.EnsureSelfSigned(p.StateDir, p.Hostname); err != nil {
			return err
		}
		log.Info("no proxy.tlscert configured: using the self-signed certificate", "cert", cert)
	}
	pair, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		return fmt.Errorf("proxy TLS: %w", err)
	}
	cs.cur.Store(&pair)
	return nil
}

func (cs *certStore) tlsConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return cs.cur.Load(), nil
		},
	}
}

func proxyListen(p config.Proxy, srv *proxy.Server, tlsConf *tls.Config, errc chan<- error, log *slog.Logger) error {
	if p.Listen != "" {
		ln, err := net.Listen("tcp", p.Listen)
		if err != nil {
			return err
		}
		log.Info("listening", "addr", ln.Addr().String(), "tls", "starttls")
		go func() { errc <- srv.Serve(ln) }()
	}
	if p.TLSListen != "" {
		ln, err := net.Listen("tcp", p.TLSListen)
		if err != nil {
			return err
		}
		log.Info("listening", "addr", ln.Addr().String(), "tls", "implicit")
		go func() { errc <- srv.ServeTLS(ln) }()
	}
	return nil
}

// proxySignals runs until SIGTERM/SIGINT (drain, then exit) or a serving
// error; SIGHUP reloads the configuration and reopens the session log.
func proxySignals(cfgPath string, c config.Config, srv *proxy.Server, sl *sessionlog.Logger, certs *certStore, errc <-chan error, log *slog.Logger) error {
	sig := make(chan os.Signal, 4)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(sig)
	for {
		select {
		case err := <-errc:
			if errors.Is(err, proxy.ErrServerClosed) || errors.Is(err, http.ErrServerClosed) {
				continue
			}
			srv.Close()
			return err
		case s := <-sig:
			if s == syscall.SIGHUP {
				c = proxyReload(cfgPath, c, srv, sl, certs, log)
				continue
			}
			log.Info("draining", "signal", s.String(), "timeout", c.Proxy.DrainTimeout.D())
			ctx, cancel := context.WithTimeout(context.Background(), c.Proxy.DrainTimeout.D())
			err := srv.Shutdown(ctx)
			cancel()
			if err != nil {
				log.Warn("drain deadline reached: remaining sessions closed")
			}
			return nil
		}
	}
}

func proxyReload(cfgPath string, old config.Config, srv *proxy.Server, sl *sessionlog.Logger, certs *certStore, log *slog.Logger) config.Config {
	if err := sl.Reopen(); err != nil {
		log.Error("reopen session log", "err", err)
	}
	c, ok := loadConfig(cfgPath)
	if !ok {
		log.Error("reload: configuration invalid; keeping the old one")
		return old
	}
	// The directory is always re-opened: an edited LDIF file or a changed
	// LDAP setting takes effect; logins in flight finish on the old one.
	var dir directory.Directory
	d, err := dirconfig.Open(context.Background(), c.Directory, log)
	if err != nil {
		log.Error("reload: directory; keeping the old one", "err", err)
	} else {
		dir = d
	}
	if err := certs.load(c.Proxy, log); err != nil {
		log.Error("reload: TLS certificate; keeping the old one", "err", err)
	}
	replaced, err := srv.Reload(c.Proxy, dir)
	if err != nil {
		log.Error("reload", "err", err)
		if dir != nil {
			dir.Close()
		}
		return old
	}
	if replaced != nil {
		time.AfterFunc(directoryCloseDelay, func() { replaced.Close() })
	}
	log.Info("configuration reloaded")
	return c
}
