package mailbox

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"msgplex/store/index"
)

func TestReconstruct(t *testing.T) {
	t.Parallel()
	opts := testOpts(1 << 20)
	type setup func(t *testing.T, dir string)
	tests := []struct {
		name     string
		damage   setup
		wantUIDs []uint32
		wantRep  Report
		check    func(t *testing.T, m *Mailbox)
	}{
		{
			name:     "intact",
			damage:   func(t *testing.T, dir string) {},
			wantUIDs: []uint32{1, 2, 4, 5},
			wantRep:  Report{Kept: 4, UIDValidityKept: true, UIDValidity: 12345},
			check: func(t *testing.T, m *Mailbox) {
				if f := flagsOf(t, m, 2); !slices.Equal(f, []string{"Red", `\Seen`}) {
					t.Errorf("flags kept: %q", f)
				}
				if st := m.Status(); st.UIDNext != 6 || st.Unseen != 3 {
					t.Errorf("status %+v", st)
				}
			},
		},
		{
			name:     "lost index",
			damage:   func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, idxName)) },
			wantUIDs: []uint32{1, 2, 4, 5},
			wantRep:  Report{Added: 4, UIDValidity: 999},
		},
		{
			name: "garbage index",
			damage: func(t *testing.T, dir string) {
				os.WriteFile(filepath.Join(dir, idxName), []byte("garbage garbage garbage"), 0o600)
				os.WriteFile(filepath.Join(dir, cacheName), []byte("junk"), 0o600)
			},
			wantUIDs: []uint32{1, 2, 4, 5},
			wantRep:  Report{Added: 4, UIDValidity: 999},
			check: func(t *testing.T, m *Mailbox) {
				msg, _ := m.Message(1)
				if b, err := m.Cache(msg); err != nil || string(b) != "Subject: message 1" {
					t.Errorf("cache rebuilt: %q %v", b, err)
				}
			},
		},
		{
			name: "both header slots torn",
			damage: func(t *testing.T, dir string) {
				f, _ := os.OpenFile(filepath.Join(dir, idxName), os.O_RDWR, 0)
				f.WriteAt(make([]byte, index.HeaderSize), 0)
				f.Close()
			},
			wantUIDs: []uint32{1, 2, 4, 5},
			wantRep:  Report{Kept: 4, UIDValidity: 999},
			check: func(t *testing.T, m *Mailbox) {
				// System flags survive in the records; keyword names
				// were in the header.
				if f := flagsOf(t, m, 2); !slices.Equal(f, []string{`\Seen`}) {
					t.Errorf("flags %q", f)
				}
			},
		},
		{
			name: "file gone",
			damage: func(t *testing.T, dir string) {
				os.Remove(MessagePath(dir, 4))
			},
			wantUIDs: []uint32{1, 2, 5},
			wantRep:  Report{Kept: 3, Dropped: 1, UIDValidityKept: true, UIDValidity: 12345},
		},
		{
			name: "files copied in by hand",
			damage: func(t *testing.T, dir string) {
				copyFile(t, MessagePath(dir, 1), filepath.Join(dir, "09", "9.msg"))    // unused UID: adopted
				copyFile(t, MessagePath(dir, 2), filepath.Join(dir, "03", "3.msg"))    // expunged UID: skipped
				copyFile(t, MessagePath(dir, 2), filepath.Join(dir, "07", "x.msg"))    // odd name: new UID
				copyFile(t, MessagePath(dir, 2), filepath.Join(dir, "02", "1001.msg")) // wrong NN: new UID
			},
			wantUIDs: []uint32{1, 2, 4, 5, 9, 10, 11},
			wantRep:  Report{Kept: 4, Added: 3, UIDValidityKept: true, UIDValidity: 12345},
			check: func(t *testing.T, m *Mailbox) {
				if st := m.Status(); st.UIDNext != 12 || st.Recent != 3 {
					t.Errorf("status %+v", st)
				}
				for _, uid := range []uint32{9, 10, 11} {
					if _, err := os.Stat(MessagePath(m.Dir(), uid)); err != nil {
						t.Error(err)
					}
				}
			},
		},
		{
			name: "torn last record",
			damage: func(t *testing.T, dir string) {
				f, _ := os.OpenFile(filepath.Join(dir, idxName), os.O_RDWR, 0)
				f.WriteAt([]byte{0xde, 0xad}, index.RecordOffset(3)+20)
				f.Close()
				if _, err := Open(dir, true, opts); err != nil {
					t.Fatalf("open should succeed (torn record found on read): %v", err)
				}
			},
			// UID 5 was given out before: the file gets a new UID, so
			// that clients syncing from UIDNEXT see it.
			wantUIDs: []uint32{1, 2, 4, 6},
			wantRep:  Report{Kept: 3, Added: 1, UIDValidityKept: true, UIDValidity: 12345},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := newFolder(t)
			for i := 1; i <= 5; i++ {
				mustAppend(t, dir, i)
			}
			m := mustOpen(t, dir, false, opts)
			if err := m.Store([]uint32{2}, FlagsAdd, []string{`\Seen`, "Red"}); err != nil {
				t.Fatal(err)
			}
			if _, err := m.Expunge([]uint32{3}); err != nil {
				t.Fatal(err)
			}
			tc.damage(t, dir)
			rep, err := Reconstruct(dir, 999, opts)
			if err != nil {
				t.Fatal(err)
			}
			if rep != tc.wantRep {
				t.Errorf("report %+v, want %+v", rep, tc.wantRep)
			}
			v := mustOpen(t, dir, false, opts)
			if got := uids(t, v); !slices.Equal(got, tc.wantUIDs) {
				t.Errorf("UIDs %v, want %v", got, tc.wantUIDs)
			}
			if tc.check != nil {
				tc.check(t, v)
			}
			// The old view moves on by Sync.
			if _, err := m.Sync(true); err != nil {
				t.Errorf("old view sync: %v", err)
			}
		})
	}
}

func TestReconstructMissingFolder(t *testing.T) {
	t.Parallel()
	if _, err := Reconstruct(filepath.Join(t.TempDir(), "nope"), 1, testOpts(0)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("err %v", err)
	}
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Dir(dst), 0o700)
	if err := os.WriteFile(dst, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
