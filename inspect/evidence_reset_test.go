package inspect

import (
	"net/netip"
	"reflect"
	"testing"
)

// fillNonZero sets every field of v (a struct, recursively) to a non-zero
// value, so that a field Reset forgets is caught.
func fillNonZero(t *testing.T, v reflect.Value, path string) {
	t.Helper()
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[netip.AddrPort]() {
			v.Set(reflect.ValueOf(netip.MustParseAddrPort("[2001:db8::1]:7")))
			return
		}
		for i := range v.NumField() {
			f := v.Field(i)
			if !f.CanSet() {
				t.Fatalf("%s.%s: unexported field; fill it by hand", path, v.Type().Field(i).Name)
			}
			fillNonZero(t, f, path+"."+v.Type().Field(i).Name)
		}
	case reflect.Array:
		for i := range v.Len() {
			fillNonZero(t, v.Index(i), path)
		}
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(1)
	case reflect.Int, reflect.Int64:
		v.SetInt(1)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
	case reflect.Interface:
		v.Set(reflect.ValueOf(testDetector{}))
	default:
		t.Fatalf("%s: kind %v: teach fillNonZero to fill it", path, v.Kind())
	}
}

type testDetector struct{ Detector }

func TestEvidenceResetIsZero(t *testing.T) {
	for _, n := range []uint8{0, 3, MaxFields} {
		var ev Evidence
		fillNonZero(t, reflect.ValueOf(&ev).Elem(), "Evidence")
		// Fields past NFields are never written (fields are appended).
		for i := n; i < MaxFields; i++ {
			ev.Fields[i] = Field{}
		}
		ev.NFields = n
		ev.Reset()
		if !reflect.DeepEqual(ev, Evidence{}) {
			t.Errorf("NFields %d: after Reset: %+v, want the zero Evidence", n, ev)
		}
	}
}

func TestEvidenceResetAfterAddField(t *testing.T) {
	var ev Evidence
	for range MaxFields + 2 {
		ev.add(Field{Key: "k", Text: []byte("v")})
	}
	ev.Reset()
	if !reflect.DeepEqual(ev, Evidence{}) {
		t.Errorf("after Reset: %+v, want the zero Evidence", ev)
	}
}
