package cache

// Hits returns how many answers r gave from memory.
func (r *Reads) Hits() uint64 { return r.hits.Load() }
