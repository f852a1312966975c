package inspect

import "net/netip"

// MaxFields is how many detail fields one Evidence holds.
const MaxFields = 10

// Field is one detail of the evidence for logs and `ftwall inspect`: a
// detector-defined key ("network", "info_hash") with a text, number or
// address value. Text aliases the packet buffer.
type Field struct {
	Key  string
	Type FieldType
	Text []byte
	Num  uint64
	Addr netip.AddrPort
}

// FieldType is the type of a Field's value.
type FieldType uint8

// Field types.
const (
	FieldText FieldType = iota
	FieldNum
	FieldAddr
	FieldHex // Text shown in hexadecimal
)

// AddText adds a text field (nothing when v is empty or the fields are full).
func (ev *Evidence) AddText(key string, v []byte) {
	if len(v) > 0 {
		ev.add(Field{Key: key, Type: FieldText, Text: v})
	}
}

// AddHex adds a binary field shown in hexadecimal.
func (ev *Evidence) AddHex(key string, v []byte) {
	if len(v) > 0 {
		ev.add(Field{Key: key, Type: FieldHex, Text: v})
	}
}

// AddNum adds a number field.
func (ev *Evidence) AddNum(key string, v uint64) { ev.add(Field{Key: key, Type: FieldNum, Num: v}) }

// AddAddr adds an address field (nothing when ap is invalid).
func (ev *Evidence) AddAddr(key string, ap netip.AddrPort) {
	if ap.IsValid() {
		ev.add(Field{Key: key, Type: FieldAddr, Addr: ap})
	}
}

func (ev *Evidence) add(f Field) {
	if int(ev.NFields) < len(ev.Fields) {
		ev.Fields[ev.NFields] = f
		ev.NFields++
	}
}

// FieldList returns the detail fields (a view of Fields).
func (ev *Evidence) FieldList() []Field { return ev.Fields[:ev.NFields] }

// Field returns the field with key.
func (ev *Evidence) Field(key string) (Field, bool) {
	for _, f := range ev.FieldList() {
		if f.Key == key {
			return f, true
		}
	}
	return Field{}, false
}

// Text returns the text of the field with key ("" when absent).
func (ev *Evidence) Text(key string) string {
	f, _ := ev.Field(key)
	return string(f.Text)
}
