package proxy

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"msgplex/proxy/backend"
	"msgplex/proxy/preauth"
	"msgplex/proxy/sessionlog"
)

// session is one client connection.
type session struct {
	srv    *Server
	sid    uint64
	st     *settings
	start  time.Time
	tcp    *net.TCPConn // the raw client socket
	conn   *clientConn  // what pre-auth reads (PROXY header bytes already consumed)
	client net.Addr     // the real client (after a PROXY header)
	local  net.Addr     // the address the client connected to
	be     *backend.Conn
	user   string
	ip     string // the client's, for the per-address count
	// relayed: the relay engine owns the sockets and ends the session
	// (splice.go, relay); nothing more happens on the session goroutine.
	relayed bool
}

func (ss *session) log(e sessionlog.Event) { ss.srv.slog.Log(ss.sid, e) }

// run logs the start, runs pre-auth, splices, and logs the end.
func (ss *session) run(implicitTLS bool) {
	ss.log(sessionlog.Event{Kind: sessionlog.Start, Client: ss.client.String(), Server: ss.local.String()})
	defer func() {
		if !ss.relayed {
			ss.log(sessionlog.Event{Kind: sessionlog.End})
		}
	}()
	var c net.Conn = ss.conn
	if implicitTLS {
		tc := tls.Server(ss.conn, ss.srv.opts.TLSConfig)
		tc.SetDeadline(time.Now().Add(min(ss.st.PreauthTimeout.D(), tlsHandshakeMax)))
		if err := tc.Handshake(); err != nil {
			ss.srv.counters.ConnFailed()
			ss.closed("TLS handshake failed: " + err.Error())
			return
		}
		c = tc
	}
	out, err := preauth.Serve(ss.srv.preauthCtx, c, ss.preauthOptions(implicitTLS), ss.login)
	if err != nil {
		if ss.be != nil {
			ss.be.Close()
		}
		ss.closed("closed before login: " + preauthReason(err))
		return
	}
	ss.splice(out)
}

func (ss *session) preauthOptions(implicitTLS bool) preauth.Options {
	return preauth.Options{
		Hostname:       ss.st.Hostname,
		AllowPlaintext: ss.st.AllowPlaintext,
		TLSConfig:      ss.srv.opts.TLSConfig,
		ImplicitTLS:    implicitTLS,
		MaxLine:        int(ss.st.MaxLineLength),
		MaxLiteral:     int(ss.st.MaxLiteral),
		MaxFailures:    ss.st.MaxAuthFailures,
		Timeout:        ss.st.PreauthTimeout.D(),
		ServerID:       ss.srv.serverID,
	}
}

func preauthReason(err error) string {
	var r *preauth.Refusal
	switch {
	case errors.Is(err, preauth.ErrLogout):
		return "client logged out"
	case errors.Is(err, io.EOF):
		return "client hung up"
	case errors.As(err, &r):
		return "refused [" + r.Code + "]"
	case errors.Is(err, os.ErrDeadlineExceeded):
		return "timed out"
	}
	return err.Error()
}

func (ss *session) closed(reason string) {
	ss.log(sessionlog.Event{Kind: sessionlog.Closed, Reason: reason})
}

// splice forwards bytes already read on either side, then copies both
// ways until the session ends, and logs the outcome.
func (ss *session) splice(out *preauth.Outcome) {
	be := ss.be
	client := leg{conn: ss.tcp, tcp: ss.tcp}
	if out.State.TLS {
		client.conn = out.State.Conn
	}
	pending := out.Buffered
	if !out.State.TLS { // under TLS, read-ahead bytes belong to the TLS stream
		pending = append(pending, ss.conn.takeBuffered()...)
	}
	if err := ss.forward(be, pending, client); err != nil {
		be.Close()
		ss.closed(err.Error())
		return
	}
	server := leg{conn: be.TCPConn, tcp: be.TCPConn}
	if ss.relay(client, server, int64(len(pending)), int64(len(be.Pending))) {
		return
	}
	res := splice(client, server, ss.st.IdleTimeout.D(), ss.srv.spliceCtx)
	ss.logSplice(res, int64(len(pending)), int64(len(be.Pending)))
}

// logSplice logs how a splice ended; c2s0 and s2c0 are the bytes
// forwarded before it.
func (ss *session) logSplice(res spliceResult, c2s0, s2c0 int64) {
	for _, e := range res.errs {
		if e.errno != 0 {
			ss.log(sessionlog.Event{Kind: sessionlog.IOError, Side: e.side, Errno: int(e.errno), ErrText: e.errno.Error()})
		} else {
			ss.log(sessionlog.Event{Kind: sessionlog.Closed, Side: e.side, Reason: fmt.Sprintf("%s socket error: %v", e.side, e.err)})
		}
	}
	switch {
	case res.cancelled:
		ss.closed("closed by proxy shutdown")
	case res.idle:
		ss.closed(fmt.Sprintf("idle timeout (%v)", ss.st.IdleTimeout.D()))
	case len(res.errs) == 0 && res.firstEOF != "":
		ss.log(sessionlog.Event{Kind: sessionlog.Closed, Side: res.firstEOF, Reason: res.firstEOF + " socket closed by peer"})
	}
	ss.log(sessionlog.Event{Kind: sessionlog.Transfer, C2S: res.c2s + c2s0,
		S2C: res.s2c + s2c0, Seconds: int64(time.Since(ss.start).Seconds())})
}

// forward writes what the client sent after its login to the store and
// what the store sent past its login response to the client.
func (ss *session) forward(be *backend.Conn, pending []byte, client leg) error {
	if len(pending) > 0 {
		if _, err := be.Write(pending); err != nil {
			return fmt.Errorf("server socket: forward %d bytes: %v", len(pending), err)
		}
	}
	if len(be.Pending) > 0 {
		if _, err := client.conn.Write(be.Pending); err != nil {
			return fmt.Errorf("client socket: forward %d bytes: %v", len(be.Pending), err)
		}
	}
	return nil
}
