// Package mboxlist is the durable list of folders per user. (Contract stub.)
package mboxlist

import "time"

// Folder is one row of the list.
type Folder struct {
	User        string
	Name        string // canonical IMAP name, "INBOX" for the inbox
	UIDValidity uint32
	SpecialUse  string // "" or \Drafts, \Sent, ...
	Subscribed  bool
	Messages    uint32 // as of the last update from the folder
	Size        int64
	Expunged    uint64
	Created     time.Time
	LastRepair  time.Time
}
