// Package micro holds side-by-side micro-benchmarks of this library and
// the others, for the pieces each exports: masking, frame headers, UTF-8
// validation, and reading and writing one message over an in-memory
// connection. It has no code besides its tests:
//
//	cd bench && go test -run '^$' -bench . -benchmem ./micro
package micro
