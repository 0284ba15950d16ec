// Package portal is ferry's local web portal ("ferry ui"): compute targets
// with what a check finds on them, the run history with live updates, one
// run's live log, metric charts and outputs, and a side-by-side comparison
// of runs.
//
// The server binds to a loopback address only and admits a request only
// when it carries the access token: once as ?token=... in the URL that
// "ferry ui" prints, after which an HttpOnly, SameSite=Strict cookie carries
// it. Requests that change state are POSTs with a per-server form token and
// a same-origin check. Pages are html/template with a little hand-written JS
// and CSS, all embedded; charts are SVG drawn on the server from series
// downsampled to at most MaxChartPoints points.
//
// Nothing here polls: the run list follows the history database through
// inotify, and a run's log is the executor's own follow stream, pushed to the
// browser as server-sent events.
package portal
