package incidentflow

import "net/url"

// IsWebURL reports whether s is an absolute http or https URL with a host:
// what every link, webhook, API and write-up address must be.
func IsWebURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}
