// SPDX-License-Identifier: MIT

package cfutures

// StepReleased is, for the tests, a channel closed once the library has released the Go step of a future made
// by Then or ThenWith (the step has run, or never will); nil for other futures.
func StepReleased(f *Future) <-chan struct{} {
	if f.task == nil {
		return nil
	}
	return f.task.released
}
