// Package oncall answers who is on call for a schedule at an instant: rotations
// that hand off at a wall-clock time in the schedule's time zone (so a weekly
// 09:00 hand-off stays at 09:00 across daylight-saving changes) and overrides.
// It is pure: it imports only dsl and never touches a clock, a database or the network.
package oncall

import (
	"fmt"
	"slices"
	"time"

	"github.com/incidentflow/incidentflow/dsl"
)

// OnCall returns the id of the person on call for sch at t. The last override
// covering t wins; then the last layer whose days and hours cover t; otherwise
// the schedule's own rotation decides. A rotation has its first member on
// call from the hand-off, the next after every interval, round and round (and
// backwards before the hand-off).
func OnCall(sch dsl.Schedule, t time.Time) (string, error) {
	loc := time.UTC
	if sch.Timezone != "" {
		var err error
		if loc, err = dsl.LoadLocation(sch.Timezone); err != nil {
			return "", fmt.Errorf("schedule %s: %w", sch.ID, err)
		}
	}
	for i := len(sch.Overrides) - 1; i >= 0; i-- {
		o := sch.Overrides[i]
		from, err1 := time.ParseInLocation(dsl.LocalTimeLayout, o.From, loc)
		to, err2 := time.ParseInLocation(dsl.LocalTimeLayout, o.To, loc)
		if err1 != nil || err2 != nil {
			return "", fmt.Errorf("schedule %s: override of %s has a malformed time", sch.ID, o.Person)
		}
		if !t.Before(from) && t.Before(to) {
			return o.Person, nil
		}
	}
	for i := len(sch.Layers) - 1; i >= 0; i-- {
		if l := sch.Layers[i]; covers(l, t.In(loc)) {
			return onRotation(sch.ID, l.Rotation, loc, t)
		}
	}
	return onRotation(sch.ID, sch.Rotation, loc, t)
}

func onRotation(schedule string, r dsl.Rotation, loc *time.Location, t time.Time) (string, error) {
	if len(r.Members) == 0 || r.Every.Fixed <= 0 {
		return "", fmt.Errorf("schedule %s has no rotation", schedule)
	}
	handoff, err := time.ParseInLocation(dsl.LocalTimeLayout, r.Handoff, loc)
	if err != nil {
		return "", fmt.Errorf("schedule %s: hand-off %q: %w", schedule, r.Handoff, err)
	}
	k := Shift(handoff, r.Every.Fixed, t)
	n := len(r.Members)
	return r.Members[((k%n)+n)%n], nil
}

// covers reports whether a layer's days and hours include local time t. A
// window past midnight belongs to the day it starts: Friday 18:00-09:00
// covers Saturday 08:00, and Saturday 08:00 only.
func covers(l dsl.Layer, t time.Time) bool {
	onDay := func(d time.Weekday) bool { return len(l.Days) == 0 || slices.Contains(l.Days, d) }
	if l.From == "" {
		return onDay(t.Weekday())
	}
	clock := t.Format(dsl.ClockLayout)
	if l.From < l.To {
		return onDay(t.Weekday()) && clock >= l.From && clock < l.To
	}
	// Past midnight: the evening part today, or the morning part of the
	// window that began yesterday.
	return (clock >= l.From && onDay(t.Weekday())) || (clock < l.To && onDay(t.AddDate(0, 0, -1).Weekday()))
}

// Shift returns which shift t falls in: 0 from the hand-off until the first
// boundary, 1 after it, -1 before the hand-off, and so on.
func Shift(handoff time.Time, every time.Duration, t time.Time) int {
	k := int(t.Sub(handoff) / every)
	if t.Before(handoff) && t.Sub(handoff)%every != 0 {
		k-- // round towards minus infinity
	}
	// The estimate counts absolute hours; boundaries keep the local clock, so
	// a daylight-saving change can move the answer by one.
	for Boundary(handoff, every, k).After(t) {
		k--
	}
	for !Boundary(handoff, every, k+1).After(t) {
		k++
	}
	return k
}

// Boundary is the start of shift k. Whole days keep the hand-off's wall-clock
// time in its zone; shorter intervals are exact durations.
func Boundary(handoff time.Time, every time.Duration, k int) time.Time {
	const day = 24 * time.Hour
	if every%day == 0 {
		days := int(every / day)
		return time.Date(handoff.Year(), handoff.Month(), handoff.Day()+k*days, handoff.Hour(), handoff.Minute(), 0, 0, handoff.Location())
	}
	return handoff.Add(time.Duration(k) * every)
}
