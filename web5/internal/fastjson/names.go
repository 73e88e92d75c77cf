package fastjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// ErrFieldName is wrapped by errors for a member name that matches a struct field's JSON
// name only when letter case is ignored.
var ErrFieldName = errors.New("json: member name matches a field only in another letter case")

// FieldNameError reports an object member (at Path) whose name matches the JSON name of a
// struct field (Field) only under case folding. encoding/json would fill the field from
// it; readers that match names exactly would not. It wraps ErrFieldName.
type FieldNameError struct {
	Path  string
	Name  string
	Field string
}

func (e *FieldNameError) Error() string {
	return fmt.Sprintf("%v: %s: %q must be spelled %q", ErrFieldName, e.Path, e.Name, e.Field)
}

func (e *FieldNameError) Unwrap() error { return ErrFieldName }

// Decode decodes data into v with encoding/json after reading it with Unmarshal, so that
// what encoding/json resolves silently is an error: a member name that repeats (exactly or
// under case folding, *DuplicateKeyError), and a member name that matches a field of v's
// type only under case folding (*FieldNameError). Decoding then fills v exactly as a reader
// matching names exactly would.
func Decode(data []byte, v any) error { return decode(data, v, false) }

// DecodeKnown is Decode that also refuses members no field of v's type names.
func DecodeKnown(data []byte, v any) error { return decode(data, v, true) }

func decode(data []byte, v any, known bool) error {
	val, err := Unmarshal(data)
	if err != nil {
		return err
	}
	return decodeValue(data, val, v, known)
}

// DecodeKnownValue is DecodeKnown for data that the caller has already read with Unmarshal or
// UnmarshalNumbers (without error) into val: data is not read a second time to check its
// member names.
func DecodeKnownValue(data []byte, val any, v any) error { return decodeValue(data, val, v, true) }

func decodeValue(data []byte, val any, v any, known bool) error {
	if err := CheckFieldNames(val, reflect.TypeOf(v)); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if known {
		dec.DisallowUnknownFields()
	}
	return dec.Decode(v)
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// CheckFieldNames walks the decoded value val alongside the type t it is to be decoded
// into, and returns a *FieldNameError for the first object member whose name matches a
// struct field's JSON name only under case folding. Types that decode themselves
// (json.Unmarshaler) are not entered.
func CheckFieldNames(val any, t reflect.Type) error { return checkNames("$", val, t) }

func checkNames(path string, val any, t reflect.Type) error {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || reflect.PointerTo(t).Implements(unmarshalerType) {
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := val.(map[string]any)
		if !ok {
			return nil
		}
		fields := jsonFields(t, nil)
		for name, v := range obj {
			ft, exact := fields[name]
			if !exact {
				for fname := range fields {
					if strings.EqualFold(fname, name) {
						return &FieldNameError{Path: path, Name: name, Field: fname}
					}
				}
				continue
			}
			if err := checkNames(path+"."+name, v, ft); err != nil {
				return err
			}
		}
	case reflect.Slice, reflect.Array:
		list, ok := val.([]any)
		if !ok {
			return nil
		}
		for i, v := range list {
			if err := checkNames(fmt.Sprintf("%s[%d]", path, i), v, t.Elem()); err != nil {
				return err
			}
		}
	case reflect.Map:
		obj, ok := val.(map[string]any)
		if !ok {
			return nil
		}
		for name, v := range obj {
			if err := checkNames(path+"."+name, v, t.Elem()); err != nil {
				return err
			}
		}
	}
	return nil
}

// jsonFields returns the JSON names of the fields of struct type t (embedded structs
// without a name flattened, as encoding/json does) and their types.
func jsonFields(t reflect.Type, into map[string]reflect.Type) map[string]reflect.Type {
	if into == nil {
		into = make(map[string]reflect.Type)
	}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			et := f.Type
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				jsonFields(et, into)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if _, taken := into[name]; !taken {
			into[name] = f.Type
		}
	}
	return into
}
