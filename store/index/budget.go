// Package index is the store.idx file format and its windowed memory
// mappings, accounted against a per-process budget. (Contract stub: the
// implementer documents the format here.)
package index

// Budget accounts the bytes of index mappings one process holds and
// evicts idle windows, least recently used first, to stay under Limit.
type Budget struct{}

// NewBudget makes a budget of limit bytes.
func NewBudget(limit int64) *Budget { return &Budget{} }

// Stats are the figures exposed to counterutil and /metrics.
type Stats struct {
	Limit, Mapped int64
	Windows       int
	Evictions     uint64
}

// Stats reports the current figures.
func (b *Budget) Stats() Stats { return Stats{} }
