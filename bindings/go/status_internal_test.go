// SPDX-License-Identifier: MIT

package cfutures

import (
	"errors"
	"strings"
	"testing"
)

// Every failure status of the C header's list has its own sentinel error and a name from the library.
func TestEveryHeaderStatusHasASentinel(t *testing.T) {
	statuses := headerStatuses()
	if len(statuses) < 17 {
		t.Fatalf("the header lists %d statuses, expected at least 17", len(statuses))
	}
	for _, s := range statuses {
		if strings.HasPrefix(s.String(), "CF_UNKNOWN") {
			t.Errorf("status %d: the library has no name for it", int(s))
		}
		if s == StatusOK || s == StatusDone {
			continue
		}
		sentinel := sentinelOf(s)
		if sentinel == nil {
			t.Errorf("%v (%d): no sentinel error in the Go binding", s, int(s))
			continue
		}
		if !errors.Is(&Error{Status: s, Op: "test"}, sentinel) {
			t.Errorf("%v: an Error with this status does not match its sentinel", s)
		}
	}
}
