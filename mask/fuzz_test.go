package mask

import (
	"bytes"
	"testing"
)

// FuzzApply checks Apply against ApplyBytewise for arbitrary payloads, keys,
// start positions and a split point at which masking is resumed.
func FuzzApply(f *testing.F) {
	f.Add([]byte("Hello"), uint32(0x37fa213d), uint8(0), uint16(2))
	f.Add(bytes.Repeat([]byte{0xa5}, 77), uint32(0xdeadbeef), uint8(3), uint16(33))
	f.Fuzz(func(t *testing.T, data []byte, k uint32, pos uint8, split uint16) {
		key := [4]byte{byte(k >> 24), byte(k >> 16), byte(k >> 8), byte(k)}
		p := int(pos & 3)
		s := 0
		if len(data) > 0 {
			s = int(split) % (len(data) + 1)
		}
		want := bytes.Clone(data)
		wantPos := ApplyBytewise(key, p, want)

		got := bytes.Clone(data)
		gotPos := Apply(key, Apply(key, p, got[:s]), got[s:])
		if gotPos != wantPos || !bytes.Equal(got, want) {
			t.Fatalf("key %x pos %d split %d: got %x/%d, want %x/%d", key, p, s, got, gotPos, want, wantPos)
		}
		// Masking twice restores the input.
		Apply(key, p, got)
		if !bytes.Equal(got, data) {
			t.Fatalf("masking twice is not the identity")
		}
	})
}
