package spark

import "testing"

// statusOutput is `yarn application -status` as Hadoop 3.3 prints it
// (ApplicationCLI.printApplicationReport).
const statusOutput = "Application Report : \n" +
	"\tApplication-Id : application_1700000000000_0007\n" +
	"\tApplication-Name : r1\n" +
	"\tState : FINISHED\n" +
	"\tFinal-State : FAILED\n" +
	"\tDiagnostics : User application exited with status 3\n"

func TestParseReport(t *testing.T) {
	r := ParseReport([]byte(statusOutput))
	want := Report{ID: "application_1700000000000_0007", State: "FINISHED", FinalState: "FAILED",
		Diagnostics: "User application exited with status 3"}
	if r != want {
		t.Fatalf("ParseReport = %+v, want %+v", r, want)
	}
	if !r.Ended() || r.ExitCode() != 3 {
		t.Fatalf("Ended %v ExitCode %d, want true 3", r.Ended(), r.ExitCode())
	}
}

func TestExitCode(t *testing.T) {
	tests := []struct {
		r    Report
		want int
	}{
		{Report{FinalState: FinalSucceeded}, 0},
		{Report{FinalState: FinalKilled}, 143},
		{Report{FinalState: FinalFailed, Diagnostics: "AM container exited with exitCode: -104"}, 1},
		{Report{FinalState: FinalUndefined}, 1},
	}
	for _, tt := range tests {
		if got := tt.r.ExitCode(); got != tt.want {
			t.Errorf("%+v: ExitCode %d, want %d", tt.r, got, tt.want)
		}
	}
}

func TestFindApplicationID(t *testing.T) {
	line := "24/01/02 03:04:05 INFO Client: Submitting application application_1700000000000_10001 to ResourceManager"
	if got := FindApplicationID(line); got != "application_1700000000000_10001" {
		t.Fatalf("FindApplicationID = %q", got)
	}
	if got := FindApplicationID("INFO Client: Uploading resource"); got != "" {
		t.Fatalf("FindApplicationID = %q, want none", got)
	}
}
