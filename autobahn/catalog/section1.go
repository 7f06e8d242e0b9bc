package catalog

// section1 returns the cases of section 1.
func section1() []Case { return nil }
