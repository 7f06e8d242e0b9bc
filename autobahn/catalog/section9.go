package catalog

// section9 returns the cases of section 9.
func section9() []Case { return nil }
