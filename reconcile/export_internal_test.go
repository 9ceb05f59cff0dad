package reconcile

// SetImpactPage sets the users a walk reads at once, for a test, and
// returns the undo.
func SetImpactPage(n int) func() {
	old := impactPage
	impactPage = n
	return func() { impactPage = old }
}
