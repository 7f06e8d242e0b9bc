// Package interop tests this module against independent implementations of
// RFC 6455: a real browser (headless Chromium), Node.js's ws and Python's
// websockets. A conformance catalog written by the same people as the code
// can share their misreadings of the RFC; these peers cannot.
//
// The package holds only tests and the peers' helper scripts; see README.md
// for how to install the peers and run them.
package interop
