package mailbox

import (
	"fmt"
	"io"
	"os"
)

// CopyTo copies uids to the folder at dstDir durably (hard links where
// possible), keeping flags and internal dates. dstDir may be this folder.
// UIDs not in this view are skipped (not in the result).
func (m *Mailbox) CopyTo(dstDir string, uids []uint32) (CopyResult, error) {
	var res CopyResult
	var msgs []newMsg
	for _, uid := range uids {
		seq, ok, err := m.rd.seqOf(uid)
		if err != nil {
			return res, err
		}
		if !ok {
			continue
		}
		rec, err := m.rd.record(seq - 1)
		if err != nil {
			return res, err
		}
		msg, err := m.message(seq, rec)
		if err != nil {
			return res, err
		}
		var blob []byte
		if rec.CacheOff != 0 {
			if blob, err = m.Cache(msg); err != nil {
				return res, err
			}
		}
		pf, err := parseFlags(msg.Flags)
		if err != nil {
			return res, err
		}
		msgs = append(msgs, newMsg{path: MessagePath(m.dir, uid), size: msg.Size,
			date: msg.InternalDate, sys: pf.sys, kws: pf.kws, blob: blob})
		res.SrcUIDs = append(res.SrcUIDs, uid)
	}
	t, err := begin(dstDir)
	if err != nil {
		return CopyResult{}, err
	}
	defer t.end()
	res.UIDValidity = t.h.UIDValidity
	if len(msgs) == 0 {
		return res, nil
	}
	if res.DstUIDs, err = t.add(msgs, linkOrCopy); err != nil {
		return CopyResult{}, err
	}
	return res, nil
}

// linkOrCopy hard-links src as dst, or copies it (fsynced) when a link is
// impossible. A dst left by an interrupted earlier attempt is replaced.
func linkOrCopy(src, dst string) error {
	_ = os.Remove(dst)
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("copy message: %w", err)
	}
	defer in.Close()
	tmp := dst + ".tmp"
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("copy message: %w", err)
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, dst)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("copy message: %w", err)
	}
	return nil
}
