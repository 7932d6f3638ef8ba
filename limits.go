package incidentflow

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on what one request may carry. Everything a request adds to an
// incident's run is bounded, so that no request can push the run past
// Temporal's limits (2 MB a payload, the update's result included) or make
// its state too big to show.
const (
	MaxTitle   = 200    // characters of an incident's title
	MaxText    = 10_000 // characters of a summary, a note, a description
	MaxName    = 100    // characters of a name: who, a role, a step, a signal
	MaxLink    = 2000   // characters of a link
	MaxPayload = 4096   // bytes of a signal's payload, as JSON
	// MaxKey is the length of an Idempotency-Key.
	MaxKey = 255
)

// CheckLimits checks the string fields of a request struct against the
// limits their `limit` tags give, and returns a detail for each field that
// breaks one, named by its JSON name:
//
//	limit:"line,100"  one line of at most 100 characters: no control characters
//	limit:"text,10000" text of at most 10,000 characters: lines and tabs, no other control characters
//	limit:"json,4096" any value whose JSON is at most 4096 bytes
//
// Nested structs and pointers to them are checked too.
func CheckLimits(v any) []Detail {
	var out []Detail
	checkLimits(reflect.ValueOf(v), "", &out)
	return out
}

func checkLimits(v reflect.Value, prefix string, out *[]Detail) {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return
	}
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" {
			name = f.Name
		}
		name = prefix + name
		tag := f.Tag.Get("limit")
		if tag == "" {
			if f.Type.Kind() == reflect.Struct || f.Type.Kind() == reflect.Pointer && f.Type.Elem().Kind() == reflect.Struct {
				checkLimits(v.Field(i), name+".", out)
			}
			continue
		}
		kind, n, _ := strings.Cut(tag, ",")
		limit, err := strconv.Atoi(n)
		if err != nil {
			panic(fmt.Sprintf("incidentflow: bad limit tag %q on %s", tag, f.Name))
		}
		if msg := checkValue(v.Field(i), kind, limit); msg != "" {
			*out = append(*out, Detail{Field: name, Message: msg})
		}
	}
}

func checkValue(v reflect.Value, kind string, limit int) string {
	if kind == "json" {
		if v.IsZero() {
			return ""
		}
		b, err := json.Marshal(v.Interface())
		switch {
		case err != nil:
			return "cannot be written as JSON"
		case len(b) > limit:
			return fmt.Sprintf("is %d bytes of JSON; at most %d are taken", len(b), limit)
		}
		return ""
	}
	if v.Kind() != reflect.String {
		panic(fmt.Sprintf("incidentflow: limit %q on a %s", kind, v.Kind()))
	}
	return CheckString(v.String(), kind == "line", limit)
}

// CheckString says what is wrong with s as one line (oneLine) or as text of
// at most limit characters, or "" when nothing is: it must be valid UTF-8,
// and hold no control characters but, in text, line breaks and tabs.
func CheckString(s string, oneLine bool, limit int) string {
	if !utf8.ValidString(s) {
		return "is not valid UTF-8 text"
	}
	if n := utf8.RuneCountInString(s); n > limit {
		return fmt.Sprintf("is %d characters long; at most %d are taken", n, limit)
	}
	for _, r := range s {
		switch {
		case r == '\n' || r == '\r' || r == '\t':
			if oneLine {
				return "must be one line: it holds a line break or a tab"
			}
		case unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || isBidiControl(r):
			return fmt.Sprintf("holds the invisible control character %U, which no text here may contain", r)
		}
	}
	return ""
}

// isBidiControl reports the characters that reorder text when displayed, so
// that a name could read differently from what it is.
func isBidiControl(r rune) bool {
	return r >= '\u202A' && r <= '\u202E' || r >= '\u2066' && r <= '\u2069'
}
