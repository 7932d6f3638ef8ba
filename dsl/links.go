package dsl

import (
	"fmt"
	"strconv"
	"strings"
)

// Actions a message can carry a link for, one made for each person it
// reaches: {{ .Links.Acknowledge }}, {{ .Links.Approve }} and
// {{ .Links.Review }} in a template, and the task step's own message.
const (
	LinkAcknowledge = "acknowledge" // acknowledge the incident
	LinkApprove     = "approve"     // give the approvals the person may give
	LinkComplete    = "complete"    // complete a task
	LinkReview      = "review"      // mark the review held
)

// A rendered message holds, where a recipient's link goes, a marker that
// delivery replaces with the link made for that recipient.
const markerOpen, markerClose = "⟦link:", "⟧"

// LinkMarker is the text a message holds where a recipient's link of the
// action goes (target: the task of a complete link).
func LinkMarker(action, target string) string {
	if target != "" {
		action += ":" + target
	}
	return markerOpen + action + markerClose
}

// FillLinks replaces the link markers in a message with what link returns
// for each marker's action and target.
func FillLinks(msg string, link func(action, target string) string) string {
	var b strings.Builder
	for {
		i := strings.Index(msg, markerOpen)
		if i < 0 {
			break
		}
		j := strings.Index(msg[i:], markerClose)
		if j < 0 {
			break
		}
		b.WriteString(msg[:i])
		action, target, _ := strings.Cut(msg[i+len(markerOpen):i+j], ":")
		b.WriteString(link(action, target))
		msg = msg[i+j+len(markerClose):]
	}
	b.WriteString(msg)
	return b.String()
}

// HasLink reports whether a message holds a link marker of the action.
func HasLink(msg, action string) bool { return strings.Contains(msg, markerOpen+action) }

// ApprovalTarget is the target of an approve link: the numbers of the
// approvals it gives, in the order the run began them ("3" or "3,4").
func ApprovalTarget(seqs []int) string {
	parts := make([]string, len(seqs))
	for i, n := range seqs {
		parts[i] = strconv.Itoa(n)
	}
	return strings.Join(parts, ",")
}

// ApprovalsOf reads an approve link's target: the approvals it gives, or
// none for a link made before links named them (it gives what waits for
// its person when pressed).
func ApprovalsOf(target string) ([]int, error) {
	if target == "" {
		return nil, nil
	}
	var seqs []int
	for _, part := range strings.Split(target, ",") {
		n, err := strconv.Atoi(part)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q names no approval", target)
		}
		seqs = append(seqs, n)
	}
	return seqs, nil
}

// Unlinked is text from people or other systems made safe to put in a
// message: a link marker in it (a title written ⟦link:approve⟧) would be
// filled in with a link acting as each recipient. Every marker's opening
// bracket goes, not only a whole marker's, since two texts printed side
// by side ("⟦lin" and "k:approve⟧") would make one.
func Unlinked(s string) string { return strings.ReplaceAll(s, markerOpen[:len("⟦")], "[") }

// unlinkedValue is Unlinked for every string inside a JSON-like value.
func unlinkedValue(v any) any {
	switch x := v.(type) {
	case string:
		return Unlinked(x)
	case []string:
		out := make([]string, len(x))
		for i, s := range x {
			out[i] = Unlinked(s)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, item := range x {
			out[i] = unlinkedValue(item)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, item := range x {
			out[Unlinked(k)] = unlinkedValue(item) // keys are printed too, by range
		}
		return out
	}
	return v
}

// markApprovalLinks notes, on each step of seq whose message asks for an
// approve link ({{ .Links.Approve }}), the approvals that begin right after
// it: the approval step that follows it, or those of a parallel step that
// follows it. A message asking for an approval comes just before it.
func markApprovalLinks(seq []Step) {
	for i := range seq {
		for _, nested := range seq[i].nested() {
			markApprovalLinks(nested)
		}
		if i+1 < len(seq) && seq[i].asksForApproval() {
			next := &seq[i+1]
			switch {
			case next.Approval != nil:
				seq[i].ApprovalsAfter = 1
			case len(next.Parallel) > 0:
				for _, b := range next.Parallel {
					if b.Approval != nil {
						seq[i].ApprovalsAfter++
					}
				}
			}
		}
	}
}

// asksForApproval reports whether a step's message holds an approve link.
func (s *Step) asksForApproval() bool {
	var texts []string
	switch {
	case s.Notify != nil:
		texts = []string{s.Notify.Message}
	case s.Page != nil:
		texts = []string{s.Page.Message}
	case s.Task != nil:
		texts = []string{s.Task.Title, s.Task.Description}
	case s.Review != nil:
		texts = []string{s.Review.Title, s.Review.Description}
	}
	for _, t := range texts {
		if strings.Contains(t, ".Links.Approve") {
			return true
		}
	}
	return false
}
