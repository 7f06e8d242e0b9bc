package catalog

// section10 returns the cases of section 10.
func section10() []Case { return nil }
