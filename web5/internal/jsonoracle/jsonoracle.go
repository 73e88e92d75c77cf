package jsonoracle

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
)

// FoldDuplicate reports the first member name of data that repeats an earlier name of the
// same object, exactly or under strings.EqualFold, and the earlier name. ok is false when
// there is none, or when data is not JSON.
func FoldDuplicate(data []byte) (name, previous string, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	type frame struct {
		object bool
		names  []string
		key    bool // the next string token is a member name
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", "", false
		}
		top := func() *frame {
			if len(stack) == 0 {
				return nil
			}
			return stack[len(stack)-1]
		}
		// A value (of any kind) after a name means the next string is a name again.
		valueDone := func() {
			if f := top(); f != nil && f.object {
				f.key = true
			}
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{':
				if f := top(); f != nil && f.object {
					f.key = false
				}
				stack = append(stack, &frame{object: true, key: true})
			case '[':
				if f := top(); f != nil && f.object {
					f.key = false
				}
				stack = append(stack, &frame{})
			default:
				stack = stack[:len(stack)-1]
				valueDone()
			}
		case string:
			if f := top(); f != nil && f.object && f.key {
				for _, p := range f.names {
					if strings.EqualFold(p, v) {
						return v, p, true
					}
				}
				f.names = append(f.names, v)
				f.key = false
				continue
			}
			valueDone()
		default:
			valueDone()
		}
		if len(stack) == 0 && !dec.More() {
			return "", "", false
		}
	}
}

// Member returns the top-level member name of object data as encoding/json fills a struct
// field tagged with name: matched case-insensitively, the last match winning. ok is false
// when data is not a JSON object or has no such member.
func Member(data []byte, name string) (value any, ok bool) {
	field := reflect.StructField{Name: "F", Type: reflect.TypeFor[any](), Tag: reflect.StructTag(`json:"` + name + `"`)}
	v := reflect.New(reflect.StructOf([]reflect.StructField{field}))
	if err := json.Unmarshal(data, v.Interface()); err != nil {
		return nil, false
	}
	f := v.Elem().Field(0).Interface()
	return f, f != nil
}
