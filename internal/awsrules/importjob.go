package awsrules

// RuleConflict names a rule broken by two members that may not be combined.
const RuleConflict = "conflict"

// CheckGeolocationTimeZone applies CreateDatasetImportJob's cross-member
// rules on where timestamps get their time zone: a single TimeZone and
// UseGeolocationForTimeZone=true exclude each other, and deriving the zone
// from the geolocation attribute needs GeolocationFormat to say how that
// attribute is written. Each member's own syntax is checked separately
// (CheckTimeZone, CheckGeolocationFormat).
func CheckGeolocationTimeZone(timeZone string, useGeolocationForTimeZone bool, geolocationFormat string) *Violation {
	if !useGeolocationForTimeZone {
		return nil
	}
	if timeZone != "" {
		return violation(RuleConflict, "TimeZone cannot be set when UseGeolocationForTimeZone is true: set one or the other")
	}
	if geolocationFormat == "" {
		return violation(RuleRequired, "GeolocationFormat is required when UseGeolocationForTimeZone is true")
	}
	return nil
}
