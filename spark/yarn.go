package spark

import (
	"bufio"
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// appIDRE matches a YARN application id: application_<cluster ts>_<seq>.
var appIDRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`application_\d+_\d+`) })

// FindApplicationID returns the first application id in line, or "".
// spark-submit logs it on stderr ("Submitting application … to
// ResourceManager"); the log layout varies, so only the id is matched.
func FindApplicationID(line string) string {
	return appIDRE().FindString(line)
}

// YARN's final statuses (Final-State in `yarn application -status`).
const (
	FinalSucceeded = "SUCCEEDED"
	FinalFailed    = "FAILED"
	FinalKilled    = "KILLED"
	FinalUndefined = "UNDEFINED"
)

// Report is what `yarn application -status ID` says about an application.
type Report struct {
	ID          string
	State       string // NEW … RUNNING, FINISHED, FAILED, KILLED
	FinalState  string // UNDEFINED, SUCCEEDED, FAILED, KILLED, ENDED
	Diagnostics string
}

// Ended reports whether YARN is done with the application.
func (r Report) Ended() bool {
	return r.State == "FINISHED" || r.State == "FAILED" || r.State == "KILLED"
}

// ParseReport reads the tab-indented "Key : value" lines of `yarn
// application -status`.
func ParseReport(out []byte) Report {
	var r Report
	fields := map[string]*string{
		"Application-Id": &r.ID, "State": &r.State, "Final-State": &r.FinalState, "Diagnostics": &r.Diagnostics,
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " : ")
		if p, known := fields[strings.TrimSpace(k)]; ok && known {
			*p = strings.TrimSpace(v)
		}
	}
	return r
}

// userExitRE is the ApplicationMaster's diagnostic for a driver that
// exited non-zero.
var userExitRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`User application exited with status (\d+)`) })

// ExitCode maps an ended cluster-mode application to the run's exit code:
// 0 when it SUCCEEDED; the driver's own code when YARN's diagnostics carry
// it; 143 (SIGTERM) when KILLED; else 1, as spark-submit itself exits.
func (r Report) ExitCode() int {
	switch r.FinalState {
	case FinalSucceeded:
		return 0
	case FinalKilled:
		return 143
	}
	if m := userExitRE().FindStringSubmatch(r.Diagnostics); m != nil {
		if n, err := strconv.Atoi(m[1]); err == nil && n > 0 && n < 256 {
			return n
		}
	}
	return 1
}
