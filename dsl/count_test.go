package dsl_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/incidentflow/incidentflow/dsl"
	"github.com/incidentflow/incidentflow/processes"
)

// Calendars of the examples: US federal holidays of 2026 (Independence Day
// observed on Friday 3 July, Thanksgiving, Christmas), and EU ones.
var (
	usCalendar = &dsl.Calendar{Timezone: "America/New_York",
		Holidays: []string{"2026-07-03", "2026-11-26", "2026-12-25", "2027-01-01"}}
	euCalendar = &dsl.Calendar{Timezone: "Europe/Brussels",
		Holidays: []string{"2026-05-01", "2026-12-25", "2026-12-26", "2027-01-01"}}
	ukCalendar = &dsl.Calendar{Timezone: "Europe/London", Holidays: []string{"2026-12-25", "2026-12-28"}}
)

func at(t *testing.T, zone, local string) time.Time {
	t.Helper()
	loc, err := time.LoadLocation(zone)
	require.NoError(t, err)
	v, err := time.ParseInLocation("2006-01-02 15:04", local, loc)
	require.NoError(t, err)
	return v
}

// TestPeriodEnd counts the periods of real statutory rules: each case is
// the event, the period as written, the rule, and when it ends.
func TestPeriodEnd(t *testing.T) {
	const ny, brussels, london = "America/New_York", "Europe/Brussels", "Europe/London"
	for _, tc := range []struct {
		name              string
		cal               *dsl.Calendar
		event             time.Time
		within, rule, end string
		want              time.Time
	}{
		// SEC Form 8-K Item 1.05: within four business days after the determination.
		{"8KMondayAfternoonDueFridayEndOfDay", usCalendar, at(t, ny, "2026-03-02 15:10"), "4 business days", "us", "",
			at(t, ny, "2026-03-07 00:00")},
		{"8KEDGARCutOff", usCalendar, at(t, ny, "2026-03-02 15:10"), "4 business days", "us", "17:30 America/New_York",
			at(t, ny, "2026-03-06 17:30")},
		// General Instruction B.1: an event on a Saturday starts the count on Monday, which is day one.
		{"8KDeterminedOnSaturday", usCalendar, at(t, ny, "2026-03-07 11:00"), "4 business days", "us", "17:30",
			at(t, ny, "2026-03-12 17:30")},
		{"8KOverThanksgiving", usCalendar, at(t, ny, "2026-11-23 09:00"), "4 business days", "us", "17:30",
			at(t, ny, "2026-11-30 17:30")},
		{"8KDeterminedOnThanksgiving", usCalendar, at(t, ny, "2026-11-26 10:00"), "4 business days", "us", "17:30",
			at(t, ny, "2026-12-02 17:30")},
		{"8KOverChristmas", usCalendar, at(t, ny, "2026-12-22 16:00"), "4 business days", "us", "17:30",
			at(t, ny, "2026-12-29 17:30")},
		{"8KOverIndependenceDayObserved", usCalendar, at(t, ny, "2026-06-30 12:00"), "4 business days", "us", "",
			at(t, ny, "2026-07-08 00:00")},
		// The day is New York's, wherever the calendar is: 23:30 in London is 18:30 on Monday in New York.
		{"8KDayOfTheCutOffZone", ukCalendar, at(t, london, "2026-03-02 23:30"), "4 business days", "us", "17:30 America/New_York",
			at(t, ny, "2026-03-06 17:30")},
		// FRCP 6(a)(1): exclude the day of the event, count every day, a last day on a weekend or holiday runs to the next.
		{"FRCP10DaysEndingOnSundayRollToMonday", usCalendar, at(t, ny, "2026-03-05 14:00"), "10 days", "us", "",
			at(t, ny, "2026-03-17 00:00")},
		{"FRCP14DaysEndingOnChristmas", usCalendar, at(t, ny, "2026-12-11 09:00"), "14 days", "us", "",
			at(t, ny, "2026-12-29 00:00")},
		{"FRCP2DaysFromFriday", usCalendar, at(t, ny, "2026-03-06 09:00"), "2 days", "us", "",
			at(t, ny, "2026-03-10 00:00")},
		// Regulation 1182/71 Art. 3: the same, plus months, weeks and Art. 3(5).
		{"EU10DaysEndingOnSundayRollToMonday", euCalendar, at(t, brussels, "2026-03-05 14:00"), "10 days", "eu", "",
			at(t, brussels, "2026-03-17 00:00")},
		{"EU31JanuaryPlusOneMonthLeapYear", euCalendar, at(t, brussels, "2028-01-31 10:00"), "1 month", "eu", "",
			at(t, brussels, "2028-03-01 00:00")},
		{"EU31JanuaryPlusOneMonthEndsOnSunday", euCalendar, at(t, brussels, "2027-01-31 10:00"), "1 month", "eu", "",
			at(t, brussels, "2027-03-02 00:00")},
		{"EUNIS2FinalReportOneMonth", euCalendar, at(t, brussels, "2026-04-15 10:00"), "1 month", "eu", "",
			at(t, brussels, "2026-05-16 00:00")},
		{"EUOneMonthEndingOnAHoliday", euCalendar, at(t, brussels, "2026-04-01 08:00"), "1 month", "eu", "",
			at(t, brussels, "2026-05-05 00:00")},
		{"EUOneWeekEndsOnTheSameWeekday", euCalendar, at(t, brussels, "2026-03-02 16:00"), "1 week", "eu", "",
			at(t, brussels, "2026-03-10 00:00")},
		{"EUOneYear", euCalendar, at(t, brussels, "2026-06-10 16:00"), "1 year", "eu", "",
			at(t, brussels, "2027-06-11 00:00")},
		{"EUWorkingDays", euCalendar, at(t, brussels, "2026-12-23 11:00"), "3 working days", "eu", "",
			at(t, brussels, "2026-12-30 00:00")},
		// Art. 3(5): two days from a Friday would hold one working day (Monday); it runs to Tuesday.
		{"EUTwoDaysHoldTwoWorkingDays", euCalendar, at(t, brussels, "2026-03-06 09:00"), "2 days", "eu", "",
			at(t, brussels, "2026-03-11 00:00")},
		// AI Act Art. 73(3): two days after awareness, over Christmas.
		{"EUAIActTwoDaysOverChristmas", euCalendar, at(t, brussels, "2026-12-24 15:00"), "2 days", "eu", "",
			at(t, brussels, "2026-12-30 00:00")},
		// The end of the day is midnight in the zone, across a clock change: not 72 hours on.
		// (Three days from the Friday would run to Tuesday: Art. 3(5) wants two working days.)
		{"EUThreeDaysFromFridayHoldTwoWorkingDays", ukCalendar, at(t, london, "2026-03-27 10:00"), "3 days", "eu", "",
			at(t, london, "2026-04-01 00:00")},
		{"DSTEndOfDayInLondon", ukCalendar, at(t, london, "2026-03-26 10:00"), "3 days", "eu", "",
			at(t, london, "2026-03-31 00:00")},
		{"DSTCutOffInNewYork", usCalendar, at(t, ny, "2026-03-05 10:00"), "4 business days", "us", "17:30",
			at(t, ny, "2026-03-11 17:30")},
		// Hours run from the moment under every rule (GDPR Art. 33: 72 hours from awareness).
		{"HoursStayExactEU", euCalendar, at(t, brussels, "2026-12-23 14:20"), "72h", "eu", "",
			at(t, brussels, "2026-12-26 14:20")},
		{"HoursStayExactUS", usCalendar, at(t, ny, "2026-03-06 09:00"), "24 hours", "us", "",
			at(t, ny, "2026-03-07 09:00")},
		// Exact, the default, is what deadlines meant before count existed.
		{"ExactBusinessDaysKeepTheClockTime", usCalendar, at(t, ny, "2026-03-02 15:10"), "4 business days", "", "",
			at(t, ny, "2026-03-06 15:10")},
		{"ExactDaysAreTimesTwentyFourHours", ukCalendar, at(t, london, "2026-03-27 10:00"), "3d", "exact", "",
			at(t, london, "2026-03-27 10:00").Add(72 * time.Hour)},
		{"ExactMonthKeepsTheClockTime", euCalendar, at(t, brussels, "2027-01-31 10:00"), "1 month", "", "",
			at(t, brussels, "2027-02-28 10:00")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := dsl.ParseDuration(tc.within)
			require.NoError(t, err)
			got := dsl.PeriodEnd(tc.event, d, tc.rule, tc.end, tc.cal)
			require.Equal(t, tc.want.UTC(), got.UTC(), "got %s", got.In(tc.want.Location()))
		})
	}
}

func TestDeadlineDueCountsByItsRule(t *testing.T) {
	within, err := dsl.ParseDuration("4 business days")
	require.NoError(t, err)
	d := dsl.Deadline{Within: within, Count: dsl.CountUS, DayEnds: "17:30 America/New_York"}
	require.Equal(t, at(t, "America/New_York", "2026-03-06 17:30").UTC(), d.Due(at(t, "America/New_York", "2026-03-02 15:10"), usCalendar).UTC())
}

func TestFormatLocalWritesTheEndOfADayAs24(t *testing.T) {
	loc, _ := time.LoadLocation("Europe/London")
	require.Equal(t, "Fri 6 Mar 2026 24:00 GMT", dsl.FormatLocal(at(t, "Europe/London", "2026-03-07 00:00"), loc))
	require.Equal(t, "Mon 30 Mar 2026 24:00 BST", dsl.FormatLocal(at(t, "Europe/London", "2026-03-31 00:00"), loc))
	require.Equal(t, "Fri 6 Mar 2026 17:30 GMT", dsl.FormatLocal(at(t, "Europe/London", "2026-03-06 17:30"), loc))
}

func TestParseDayEnd(t *testing.T) {
	end, err := dsl.ParseDayEnd("17:30 America/New_York")
	require.NoError(t, err)
	require.Equal(t, 17, end.Hour)
	require.Equal(t, 30, end.Minute)
	require.Equal(t, "America/New_York", end.Zone.String())
	for in, want := range map[string]string{
		"5:30pm":      `"5:30pm" must be a time of day written HH:MM (24-hour clock), with a time zone after it when the days are not the calendar's: "17:30" or "17:30 America/New_York"`,
		"17:30 ET":    `"17:30 ET": "ET" is the name of a clock, which changes with summer time; name the place, as the IANA time zone database does (Continent/City, like Europe/London or America/New_York): here probably America/New_York`,
		"17:30 Paris": `"17:30 Paris": unknown time zone "Paris"; did you mean "Europe/Paris"?`,
		"00:00":       `"00:00" would end the last day as it begins: leave day_ends out for the end of the day (midnight), or give the time of closing, like 17:30`,
	} {
		_, err := dsl.ParseDayEnd(in)
		require.EqualError(t, err, want, in)
	}
}

// TestParseDuration: what authors write, and what each means.
func TestParseDuration(t *testing.T) {
	for in, want := range map[string]dsl.Duration{
		"72h":               {Fixed: 72 * time.Hour},
		"72 hours":          {Fixed: 72 * time.Hour},
		"90m":               {Fixed: 90 * time.Minute},
		"30 minutes":        {Fixed: 30 * time.Minute},
		"1 hour":            {Fixed: time.Hour},
		"1.5h":              {Fixed: 90 * time.Minute},
		"3d":                {Fixed: 72 * time.Hour},
		"3 days":            {Fixed: 72 * time.Hour},
		"1.5 days":          {Fixed: 36 * time.Hour},
		"1 week":            {Fixed: 7 * 24 * time.Hour},
		"3 weeks":           {Fixed: 21 * 24 * time.Hour},
		"1w2d":              {Fixed: 9 * 24 * time.Hour},
		"1d12h":             {Fixed: 36 * time.Hour},
		"1 day 12 hours":    {Fixed: 36 * time.Hour},
		"1 day and 2 hours": {Fixed: 26 * time.Hour},
		"5 business days":   {BusinessDays: 5},
		"5 business day":    {BusinessDays: 5},
		"1 business day":    {BusinessDays: 1},
		"2 working days":    {BusinessDays: 2},
		"1 month":           {Months: 1},
		"18 months":         {Months: 18},
		"1 year":            {Months: 12},
	} {
		got, err := dsl.ParseDuration(in)
		require.NoError(t, err, in)
		require.Equal(t, []any{want.Fixed, want.BusinessDays, want.Months}, []any{got.Fixed, got.BusinessDays, got.Months}, in)
		require.Equal(t, in, got.String(), "a duration shows as written")
	}
	for in, want := range map[string]string{
		"":                   `the duration is empty: write for example 30m, 72 hours, 3 days, 2 weeks, 1 month or 5 business days`,
		"72":                 `"72" has no unit: write 72h for hours, 72m for minutes or 72 days`,
		"one hour":           `"one hour": write the number in digits, like 1 hour`,
		"-1h":                `"-1h" is negative: a duration says how long, so write it without the minus, like 1h`,
		"0":                  `"0" is zero: a duration must be longer than that`,
		"0s":                 `"0s" is zero: a duration must be longer than that`,
		"0 business days":    `"0 business days" is zero: a duration must be longer than that`,
		"3 dys":              `"3 dys": "dys" is not a unit of time (write for example 30m, 72 hours, 3 days, 2 weeks, 1 month or 5 business days); did you mean "days"?`,
		"1.5 business days":  `"1.5 business days": business days are counted whole, so write a whole number (or the length in hours, like 36h)`,
		"2 business days 4h": `"2 business days 4h" mixes business days with other units: write business days on their own, like 5 business days`,
		"1 month 2 days":     `"1 month 2 days" mixes months or years with other units: write them on their own, like 1 month or 18 months`,
		"1M":                 `"1M" is unclear: write 1m for minutes, or 1 month`,
		"soon":               `"soon": a number must come before "soon"; write for example 30m, 72 hours, 3 days, 2 weeks, 1 month or 5 business days`,
		"200 years":          `"200 years" is longer than 100 years`,
	} {
		_, err := dsl.ParseDuration(in)
		require.EqualError(t, err, want, in)
	}
}

func TestOldDurationsMeanWhatTheyMeant(t *testing.T) {
	// Every duration the built-in processes and recorded snapshots wrote
	// before spelled-out units existed keeps its length.
	for in, want := range map[string]time.Duration{"30d": 720 * time.Hour, "7d": 168 * time.Hour, "1w": 168 * time.Hour,
		"72h": 72 * time.Hour, "48h": 48 * time.Hour, "5m": 5 * time.Minute, "1d": 24 * time.Hour, "10s": 10 * time.Second} {
		d, err := dsl.ParseDuration(in)
		require.NoError(t, err)
		require.Equal(t, want, d.Fixed, in)
	}
}

// TestBuiltInSECClock: the shipped security process counts the 8-K on US
// federal business days until EDGAR closes, so a determination on the
// Monday of Thanksgiving week is due the next Monday at 17:30 New York time.
func TestBuiltInSECClock(t *testing.T) {
	cat, err := dsl.Load(processes.FS, "processes")
	require.NoError(t, err)
	var due time.Time
	dsl.WalkProcess(cat.Processes["security"], func(s *dsl.Step) {
		if s.ID == "sec_8k" {
			due = s.Deadline.Due(at(t, "America/New_York", "2026-11-23 11:00"), cat.Directory.Calendar)
		}
	})
	require.Equal(t, at(t, "America/New_York", "2026-11-30 17:30").UTC(), due.UTC())
}

// Time zones come from the database built into the binary, never from the
// machine's: validation and every worker read the same rules. What it does
// not hold is an error, "Local" (whatever a machine says) included.
func TestZonesComeFromTheBuiltInDatabase(t *testing.T) {
	t.Setenv("ZONEINFO", t.TempDir()) // a machine with no zones to read
	london, err := dsl.LoadLocation("Europe/London")
	require.NoError(t, err)
	_, offset := time.Date(2026, 7, 1, 12, 0, 0, 0, london).Zone()
	require.Equal(t, 3600, offset, "British Summer Time")
	utc, err := dsl.LoadLocation("UTC")
	require.NoError(t, err)
	require.Equal(t, time.UTC, utc)
	for _, bad := range []string{"Local", "", "Mars/Olympus_Mons", "../etc/passwd", "/usr/share/zoneinfo/UTC"} {
		_, err := dsl.LoadLocation(bad)
		require.Error(t, err, bad)
	}
}
