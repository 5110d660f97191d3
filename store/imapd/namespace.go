package imapd

import "github.com/emersion/go-imap/v2"

// Namespace implements NAMESPACE (RFC 2342): one personal namespace with
// the "/" delimiter.
func (s *session) Namespace() (*imap.NamespaceData, error) {
	return &imap.NamespaceData{Personal: []imap.NamespaceDescriptor{{Prefix: "", Delim: '/'}}}, nil
}
