package catalog

// section3 returns the cases of section 3.
func section3() []Case { return nil }
