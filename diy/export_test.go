package diy

// PasswordChecks reports how many password checks b ran against stored
// hashes and against the dummy hash, and the dummy's encoded form.
func PasswordChecks(b *Backend) (stored, dummy int64, dummyHash string) {
	return b.hasher.checks.Load(), b.hasher.dummyChecks.Load(), b.hasher.dummy
}
