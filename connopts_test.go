//go:build !js

package ws

import (
	"reflect"
	"testing"
	"time"
	"unsafe"
)

// TestConnOptionsShared checks that a Conn shares connDefaults only when
// every option but ReadLimit (kept in readLim) has its default: an option
// added to Options that connOptions does not know of would be lost.
func TestConnOptionsShared(t *testing.T) {
	if connOptions(nil) != &connDefaults || connOptions(&Options{}) != &connDefaults {
		t.Fatal("the zero options are not the shared defaults")
	}
	if connOptions(&Options{ReadLimit: 1 << 20, CloseTimeout: DefaultCloseTimeout, WriteTimeout: -1}) != &connDefaults {
		t.Fatal("options equal to the defaults are not the shared defaults")
	}
	rt := reflect.TypeOf(Options{})
	for i := range rt.NumField() {
		f := rt.Field(i)
		if f.Name == "ReadLimit" {
			continue
		}
		var o Options
		v := reflect.ValueOf(&o).Elem().Field(i)
		switch v.Kind() {
		case reflect.Int, reflect.Int64:
			v.SetInt(int64(time.Hour) + 3)
		case reflect.String:
			v.SetString("x")
		case reflect.Pointer:
			v.Set(reflect.New(v.Type().Elem()))
		case reflect.Func:
			v.Set(reflect.MakeFunc(v.Type(), func([]reflect.Value) []reflect.Value { return nil }))
		default:
			t.Fatalf("Options.%s: kind %v not handled by this test", f.Name, v.Kind())
		}
		got := connOptions(&o)
		if got == &connDefaults {
			t.Errorf("Options.%s set, but the Conn gets the shared defaults", f.Name)
			continue
		}
		if g := reflect.ValueOf(got).Elem().Field(i); g.IsZero() || v.Kind() != reflect.Func && !g.Equal(v) {
			t.Errorf("Options.%s not kept", f.Name)
		}
	}
}

// TestConnSize keeps a Conn within 512 bytes: every idle connection holds
// one, and past 512 bytes an object with pointers also carries the
// allocator's 8-byte header, so a Conn of 513 bytes costs 576 and one of
// 569, 640 (size classes). What a connection rarely uses belongs in
// connExt, made when first needed.
func TestConnSize(t *testing.T) {
	if n := unsafe.Sizeof(Conn{}); n > 512 {
		t.Errorf("ws.Conn is %d bytes, over 512: move what an idle connection does not use to connExt", n)
	}
}
