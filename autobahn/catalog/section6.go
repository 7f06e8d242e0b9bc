package catalog

// section6 returns the cases of section 6.
func section6() []Case { return nil }
