package store

import (
	"errors"

	"msgplex/store/mailbox"
)

// reconstructDir runs mailbox.Reconstruct. TEMPORARY: until package
// mailbox provides Reconstruct, this reports that it cannot.
func reconstructDir(dir string, uidValidity uint32, opts mailbox.Options) (ReconstructReport, error) {
	return ReconstructReport{}, errors.New("mailbox.Reconstruct not available yet")
}
