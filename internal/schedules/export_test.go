package schedules

// OnPrepared sets a function each transaction of a preparation calls once
// its firings are built, before it waits for their due time (tests: they
// wait for that event instead of probing the rows, which would lock them).
// Set it before the preparation starts.
func (s *Service) OnPrepared(f func(locked int)) { s.onPrepared = f }
