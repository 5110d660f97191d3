package store

import "msgplex/store/mailbox"

// reconstructDir runs mailbox.Reconstruct on one folder directory.
func reconstructDir(dir string, uidValidity uint32, opts mailbox.Options) (ReconstructReport, error) {
	r, err := mailbox.Reconstruct(dir, uidValidity, opts)
	if err != nil {
		return ReconstructReport{}, err
	}
	return ReconstructReport{Kept: r.Kept, Added: r.Added, Dropped: r.Dropped,
		UIDValidityKept: r.UIDValidityKept, UIDValidity: r.UIDValidity}, nil
}
