package awsrules

import "testing"

func TestCheckGeolocationTimeZone(t *testing.T) {
	tests := []struct {
		name     string
		timeZone string
		useGeo   bool
		geo      string
		wantRule string
	}{
		{"nothing set", "", false, "", ""},
		{"time zone only", "America/Los_Angeles", false, "", ""},
		{"geolocation format only", "", false, "LAT_LONG", ""},
		{"time zone and geolocation format", "Europe/Berlin", false, "CC_POSTALCODE", ""},
		{"use geolocation with format", "", true, "LAT_LONG", ""},
		{"use geolocation with time zone", "UTC", true, "LAT_LONG", RuleConflict},
		{"use geolocation with time zone, no format", "UTC", true, "", RuleConflict},
		{"use geolocation without format", "", true, "", RuleRequired},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkRule(t, "CheckGeolocationTimeZone", tc.timeZone, CheckGeolocationTimeZone(tc.timeZone, tc.useGeo, tc.geo), tc.wantRule)
		})
	}
}
