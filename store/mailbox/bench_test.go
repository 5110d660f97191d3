package mailbox

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// bulkFolder makes a folder of n index-only messages (every third seen).
func bulkFolder(tb testing.TB, n int, opts Options) string {
	tb.Helper()
	dir := newFolder(tb)
	_, err := BulkAppend(dir, n, func(i int) BulkMessage {
		var flags []string
		if i%3 == 0 {
			flags = []string{`\Seen`}
		}
		return BulkMessage{Size: int64(1000 + i%500), Flags: flags, Date: time.Unix(int64(1e9+i), 0)}
	}, opts)
	if err != nil {
		tb.Fatal(err)
	}
	return dir
}

// A budget of 1 MiB over a folder of 120k messages (7.7 MB of records):
// every read is right and the mapped bytes stay within the limit.
func TestBudgetPressureFolder(t *testing.T) {
	t.Parallel()
	const n = 120_000
	opts := testOpts(1 << 20)
	dir := bulkFolder(t, n, opts)
	a := mustOpen(t, dir, false, opts)
	b := mustOpen(t, dir, true, opts)
	if st := a.Status(); st.Messages != n || st.Recent != n || st.Unseen != n-n/3 || st.FirstUnseen != 2 {
		t.Fatalf("status %+v", st)
	}
	for seq := uint32(1); seq <= n; seq++ {
		v := a
		if seq%2 == 0 {
			v = b
		}
		msg, err := v.Message(seq)
		if err != nil || msg.UID != seq || msg.Size != int64(1000+(seq-1)%500) {
			t.Fatalf("message %d: %+v %v", seq, msg, err)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 2000; i++ {
		uid := uint32(rng.IntN(n) + 1)
		if seq, ok := b.SeqOf(uid); !ok || seq != uid {
			t.Fatalf("SeqOf(%d) = %d %v", uid, seq, ok)
		}
	}
	st := opts.Budget.Stats()
	if st.Mapped > st.Limit || st.Evictions == 0 {
		t.Fatalf("budget %+v", st)
	}
}

func BenchmarkAppendDurable(b *testing.B) {
	dir := newFolder(b)
	opts := testOpts(64 << 20)
	msg := strings.Repeat("x", 4000)
	b.SetBytes(int64(len(msg)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := AppendTo(dir, strings.NewReader(msg), nil, testDate, opts); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpenStatus is SELECT's cost: Open (read-write, so the \Recent
// claim is included) plus Status, at two folder sizes: it should be flat.
func BenchmarkOpenStatus(b *testing.B) {
	for _, n := range []int{10_000, 1_000_000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			opts := testOpts(1 << 30)
			dir := bulkFolder(b, n, opts)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				m, err := Open(dir, i%2 == 0, opts)
				if err != nil {
					b.Fatal(err)
				}
				if st := m.Status(); st.Messages != uint32(n) {
					b.Fatal(st)
				}
				m.Close()
			}
		})
	}
}

// BenchmarkFetchFlags1M reads every message's flags of a 1M folder (UID
// FETCH 1:* FLAGS); ns/op is per full pass.
func BenchmarkFetchFlags1M(b *testing.B) {
	const n = 1_000_000
	opts := testOpts(1 << 30)
	dir := bulkFolder(b, n, opts)
	m := mustOpen(b, dir, true, opts)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for seq := uint32(1); seq <= n; seq++ {
			if _, err := m.Message(seq); err != nil {
				b.Fatal(err)
			}
		}
	}
}
