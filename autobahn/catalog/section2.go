package catalog

// section2 returns the cases of section 2.
func section2() []Case { return nil }
