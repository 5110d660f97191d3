package mailbox

import (
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"
)

// Messages gives exactly what Message gives, across batch and window
// boundaries, with this view's own Store changes, keywords another view
// added after this one read its table, clamping and early stops.
func TestMessagesMatchesMessage(t *testing.T) {
	t.Parallel()
	const n = 1300
	opts := testOpts(1 << 20)
	dir := newFolder(t)
	_, err := BulkAppend(dir, n, func(i int) BulkMessage {
		var flags []string
		if i%3 == 0 {
			flags = append(flags, `\Seen`)
		}
		if i%7 == 0 {
			flags = append(flags, `\Flagged`, "$Label1")
		}
		if i%11 == 0 {
			flags = append(flags, "$Label2", `\Answered`)
		}
		return BulkMessage{Size: int64(100 + i), Flags: flags, Date: time.Unix(int64(1e9+i), 0).In(time.FixedZone("", 3600))}
	}, opts)
	if err != nil {
		t.Fatal(err)
	}
	v := mustOpen(t, dir, false, opts)
	ro := mustOpen(t, dir, true, opts)
	other := mustOpen(t, dir, false, opts)
	if err := v.Store([]uint32{5, 300, 1299}, FlagsAdd, []string{`\Deleted`, "$Mine"}); err != nil {
		t.Fatal(err)
	}
	// A keyword this view has not seen in its table.
	if err := other.Store([]uint32{2, 700}, FlagsAdd, []string{"$Late"}); err != nil {
		t.Fatal(err)
	}
	ranges := [][2]uint32{{1, n}, {0, n + 50}, {250, 520}, {256, 257}, {7, 7}, {n, n}, {n + 1, n + 9}, {9, 3}}
	for _, view := range []*Mailbox{v, ro} {
		for _, r := range ranges {
			var got []Message
			err := view.Messages(r[0], r[1], func(m Message) bool {
				m.Flags = slices.Clone(m.Flags)
				got = append(got, m)
				return true
			})
			if err != nil {
				t.Fatalf("Messages(%d, %d): %v", r[0], r[1], err)
			}
			var want []Message
			for seq := max(r[0], 1); seq <= min(r[1], n); seq++ {
				m, err := view.Message(seq)
				if err != nil {
					t.Fatal(err)
				}
				want = append(want, m)
			}
			if len(got) != len(want) {
				t.Fatalf("Messages(%d, %d): %d messages, want %d", r[0], r[1], len(got), len(want))
			}
			for i := range want {
				if !reflect.DeepEqual(got[i], want[i]) {
					t.Fatalf("Messages(%d, %d) #%d:\n got %+v\nwant %+v", r[0], r[1], i, got[i], want[i])
				}
			}
		}
	}
	if m, _ := v.Message(700); !slices.Contains(m.Flags, "$Late") {
		t.Fatalf("UID 700 flags %v: the keyword added by another view is missing", m.Flags)
	}
	if m, _ := v.Message(300); !slices.Contains(m.Flags, "$Mine") {
		t.Fatalf("UID 300 flags %v: the view's own change is missing", m.Flags)
	}

	// fn returning false stops at once.
	var seqs []uint32
	v.Messages(1, n, func(m Message) bool {
		seqs = append(seqs, m.Seq)
		return len(seqs) < 300
	})
	if want := fmt.Sprint(300, 1, 300); fmt.Sprint(len(seqs), seqs[0], seqs[len(seqs)-1]) != want {
		t.Fatalf("early stop: %d calls, %v..%v", len(seqs), seqs[0], seqs[len(seqs)-1])
	}
}
