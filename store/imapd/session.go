package imapd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"syscall"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"msgplex/store"
	"msgplex/store/mailbox"
)

// opTimeout bounds one store or directory call made for a command.
const opTimeout = 30 * time.Second

// session is one connection's state; imapserver runs its commands one at
// a time, so only the hub touches it from another goroutine.
type session struct {
	srv    *Server
	conn   *imapserver.Conn
	id     string
	peer   net.Addr // the real TCP peer
	remote net.Conn // for the client address (PROXY header)
	log    *slog.Logger

	user string // "" before login

	// Selected folder.
	sel       Folder
	selName   string
	readOnly  bool
	sub       *subscription
	pending   mailbox.Changes // changes Sync reported that were not yet written
	searchRes []uint32        // SEARCHRES "$" (UIDs)
}

func (s *Server) newSession(c *imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
	nc := c.NetConn()
	pc, _ := nc.(*peerConn)
	if pc == nil {
		pc = &peerConn{Conn: nc, peer: nc.RemoteAddr()}
	}
	sess := &session{
		srv: s, conn: c, id: fmt.Sprintf("%x", s.nextID.Add(1)), peer: pc.peer, remote: pc.Conn,
	}
	sess.log = s.log.With("session", sess.id, "peer", pc.peer.String())
	s.ctr.ConnOpened(time.Now())
	return sess, nil, nil
}

// clientAddr is the client's address: the PROXY header's when a trusted
// proxy sent one (read lazily: the header arrives before the first command).
func (s *session) clientAddr() string {
	if a := s.remote.RemoteAddr(); a != nil {
		return a.String()
	}
	return s.peer.String()
}

func (s *session) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), opTimeout)
}

// Close ends the session (connection closed).
func (s *session) Close() error {
	s.closeSelected()
	s.srv.ctr.ConnClosed()
	return nil
}

func (s *session) closeSelected() {
	if s.sub != nil {
		s.srv.hub.unsubscribe(s.sub)
		s.sub = nil
	}
	if s.sel != nil {
		if err := s.sel.Close(); err != nil {
			s.log.Warn("close folder", "user", s.user, "folder", s.selName, "err", err)
		}
	}
	s.sel, s.selName, s.readOnly, s.pending, s.searchRes = nil, "", false, mailbox.Changes{}, nil
}

// Client-facing errors.
var (
	errNoSuchMailbox = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeNonExistent, Text: "No such mailbox"}
	errReadOnly      = &imap.Error{Type: imap.StatusResponseTypeNo, Code: "READ-ONLY", Text: "Mailbox is read-only (EXAMINE)"}
	errServerBug     = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeServerBug, Text: "Internal error, see the server log"}
	errCorrupt       = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeServerBug, Text: "Mailbox has an invalid format; a repair has been requested"}
	errDiskFull      = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeOverQuota, Text: "Not enough disk space"}
	errUnavailable   = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeUnavailable, Text: "Service temporarily unavailable"}
)

// fail turns an error from the store into the reply for the client and
// logs what the client cannot see. folder may be "".
func (s *session) fail(op, folder string, err error) error {
	var ie *imap.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ie):
		return ie
	case errors.Is(err, store.ErrBadName):
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot, Text: "Invalid mailbox name: " + trimErr(err)}
	case errors.Is(err, mailbox.ErrNotFound):
		return errNoSuchMailbox
	case errors.Is(err, mailbox.ErrExists):
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeAlreadyExists, Text: "Mailbox already exists"}
	case errors.Is(err, mailbox.ErrCorrupt):
		s.log.Error(fmt.Sprintf("Store Error: user/%s: Mailbox has an invalid format; repair requested", s.user),
			"user", s.user, "client", s.clientAddr(), "folder", folder, "op", op, "err", err)
		if s.srv.opts.Repair != nil {
			s.srv.opts.Repair.RequestRepair(s.user, folder)
		}
		return errCorrupt
	case errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT):
		// Nothing was stored (package mailbox cleans up); say why, as
		// Dovecot does, instead of SERVERBUG.
		s.log.Error(op+" failed: disk full", "user", s.user, "client", s.clientAddr(), "folder", folder, "err", err)
		return errDiskFull
	case errors.Is(err, context.DeadlineExceeded):
		s.log.Warn(op+" timed out", "user", s.user, "client", s.clientAddr(), "folder", folder, "err", err)
		return errUnavailable
	}
	s.log.Error(op+" failed", "user", s.user, "client", s.clientAddr(), "folder", folder, "err", err)
	return errServerBug
}

// trimErr keeps a validation message but drops the package prefix.
func trimErr(err error) string {
	msg := err.Error()
	for _, p := range []string{"store: invalid mailbox name: ", "store: invalid mailbox name"} {
		if len(msg) >= len(p) && msg[:len(p)] == p {
			msg = msg[len(p):]
		}
	}
	if msg == "" {
		return "not allowed"
	}
	return msg
}

// name validates a client-supplied folder name.
func (s *session) name(raw string) (string, error) {
	n, err := s.srv.opts.Backend.ValidateName(raw)
	if err != nil {
		if !errors.Is(err, store.ErrBadName) {
			err = fmt.Errorf("%w: %v", store.ErrBadName, err)
		}
		return "", s.fail("validate name", raw, err)
	}
	return n, nil
}
