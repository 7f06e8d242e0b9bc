package catalog

// section4 returns the cases of section 4.
func section4() []Case { return nil }
