package catalog

// section5 returns the cases of section 5.
func section5() []Case { return nil }
