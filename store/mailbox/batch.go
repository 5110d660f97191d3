package mailbox

import "msgplex/store/index"

// batchRecords is how many records Messages reads per index access. The
// windows hold a whole number of batches (index.WindowSize is a multiple
// of batchRecords*index.RecordSize), so an aligned batch never straddles
// two windows.
const batchRecords = 256

// Messages calls fn for the messages with sequence numbers from to to
// (1-based, inclusive, clamped to this view) in order, until fn returns
// false. It gives the same messages as Message would, but reads many
// records per index access and renders flags into one reused slice: fn
// must not keep m.Flags (nor append to it expecting a copy) after it
// returns.
func (m *Mailbox) Messages(from, to uint32, fn func(m Message) bool) error {
	from, to = max(from, 1), min(to, m.rd.count)
	if from > to {
		return nil
	}
	buf := make([]byte, batchRecords*index.RecordSize)
	flags := make([]string, 0, 8)
	for i := from - 1; i < to; {
		n := min(batchRecords-i%batchRecords, to-i)
		chunk := buf[:n*index.RecordSize]
		if err := m.rd.f.ReadAt(chunk, index.RecordOffset(i)); err != nil {
			chunk = nil // read each record on its own: it reports the error
		}
		for j := uint32(0); j < n; j++ {
			rec, err := m.batchRecord(chunk, i, j)
			if err != nil {
				return err
			}
			msg, err := m.messageInto(i+j+1, rec, flags[:0])
			if err != nil {
				return err
			}
			flags = msg.Flags[:0]
			if !fn(msg) {
				return nil
			}
		}
		i += n
	}
	return nil
}

// batchRecord decodes record i+j from chunk (records from i on), or reads
// it alone when chunk is nil or the copy is torn (a writer was rewriting
// it): the single read retries and locks.
func (m *Mailbox) batchRecord(chunk []byte, i, j uint32) (index.Record, error) {
	if chunk != nil {
		if rec, err := index.DecodeRecord(chunk[j*index.RecordSize:]); err == nil {
			return rec, nil
		}
	}
	return m.rd.record(i + j)
}
