package catalog

// All returns every case of the catalog in the suite's order.
func All() []Case {
	var all []Case
	for _, section := range [][]Case{
		section1(), section2(), section3(), section4(), section5(),
		section6(), section7(), section9(), section10(),
		section12(), section13(),
	} {
		all = append(all, section...)
	}
	return all
}
