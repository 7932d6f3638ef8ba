package incidentflow

import (
	"crypto/rand"
	"regexp"
)

// An incident's ref names it to people: INC-42, numbered in order, for an
// incident anyone may see, and INC-K7QM2X, random, for a restricted one,
// so that no ref and no gap between two counts the restricted incidents
// someone may not see. Random refs use letters and digits no one misreads
// (no 0, 1, I, L, O, U) and no T, so that a task id (INC-K7QM2X-T1) still
// cuts at its first "-T"; they start with a letter, so they are never a
// number.
const (
	refFirst   = "ABCDEFGHJKMNPQRSVWXYZ"
	refLetters = "23456789" + refFirst
	refRandom  = 6 // characters: 21 × 29⁵, some 430 million refs
)

const refSyntax = `INC-(?:[1-9][0-9]{0,17}|[` + refFirst + `][` + refLetters + `]{5})`

var (
	refPattern  = regexp.MustCompile(`^` + refSyntax + `$`)
	taskPattern = regexp.MustCompile(`^` + refSyntax + `-T[1-9][0-9]{0,8}$`)
)

// IsRef reports whether s is written as an incident's ref.
func IsRef(s string) bool { return refPattern.MatchString(s) }

// IsTaskID reports whether s is written as a follow-up's id: its
// incident's ref, then -T and its number (INC-42-T1).
func IsTaskID(s string) bool { return taskPattern.MatchString(s) }

// RandomRef is a new random ref for a restricted incident.
func RandomRef() string {
	b := make([]byte, refRandom)
	_, _ = rand.Read(b) // crypto/rand does not fail
	out := []byte("INC-")
	out = append(out, refFirst[int(b[0])%len(refFirst)])
	for _, c := range b[1:] {
		out = append(out, refLetters[int(c)%len(refLetters)])
	}
	return string(out)
}
