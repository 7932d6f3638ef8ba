package oncall

import (
	"time"

	"github.com/incidentflow/incidentflow/dsl"
)

// nextStep is how finely Next looks ahead before narrowing a hand-off
// down to the minute: a shift shorter than this may be passed over.
const nextStep = 15 * time.Minute

// Next returns who takes over sch from whoever is on call at t, and when,
// looking as far as horizon ahead; ok is false when the same person stays
// on call all that time. The instant is exact to the minute.
func Next(sch dsl.Schedule, t time.Time, horizon time.Duration) (person string, at time.Time, ok bool, err error) {
	now, err := OnCall(sch, t)
	if err != nil {
		return "", time.Time{}, false, err
	}
	t = t.Truncate(time.Minute)
	for lo, end := t, t.Add(horizon); lo.Before(end); lo = lo.Add(nextStep) {
		hi := lo.Add(nextStep)
		who, err := OnCall(sch, hi)
		if err != nil {
			return "", time.Time{}, false, err
		}
		if who == now {
			continue
		}
		// Someone else holds it by hi: find the first minute they do.
		for hi.Sub(lo) > time.Minute {
			mid := lo.Add(hi.Sub(lo) / 2).Truncate(time.Minute)
			if w, err := OnCall(sch, mid); err != nil {
				return "", time.Time{}, false, err
			} else if w == now {
				lo = mid
			} else {
				hi = mid
			}
		}
		who, err = OnCall(sch, hi)
		return who, hi, err == nil, err
	}
	return "", time.Time{}, false, nil
}
