package catalog

// section7 returns the cases of section 7.
func section7() []Case { return nil }
