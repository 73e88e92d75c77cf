package jsonoracle

import "testing"

func TestFoldDuplicate(t *testing.T) {
	for in, want := range map[string]string{
		`{"kid":1,"KID":2}`:                 "KID",
		`{"a":{"kid":1,"Kid":2}}`:           "Kid",
		`[{"x":[1,{"y":1}],"X":2}]`:         "X",
		`{"kid":1,"\u212Aid":2}`:            "\u212Aid",
		`{"a":1,"b":{"a":1},"c":[{"a":1}]}`: "",
		`{"a":"A","b":"a"}`:                 "",
		`not json`:                          "",
	} {
		name, _, ok := FoldDuplicate([]byte(in))
		if ok != (want != "") || name != want {
			t.Errorf("%s: %q %v, want %q", in, name, ok, want)
		}
	}
}

func TestMember(t *testing.T) {
	v, ok := Member([]byte(`{"kid":"a","KID":"b"}`), "kid")
	if !ok || v != "b" {
		t.Fatalf("%v %v", v, ok)
	}
	if _, ok := Member([]byte(`{"x":1}`), "kid"); ok {
		t.Fatal("absent member found")
	}
}
