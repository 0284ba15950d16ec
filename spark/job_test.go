package spark

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestArgv(t *testing.T) {
	tests := []struct {
		name string
		job  Job
		want []string
	}{
		{
			name: "cluster, user-managed python, user conf wins",
			job: Job{RunID: "r1", Experiment: "e", Script: "src/etl.py", Args: []string{"--input", "x y"},
				Python: "/opt/py/bin/python3", Conf: map[string]string{"spark.yarn.maxAppAttempts": "3"},
				Env: map[string]string{"K": "v"}, OutputsDir: "/user/u/.ferry/runs/r1/outputs"},
			want: []string{"spark-submit", "--master", "yarn", "--deploy-mode", "cluster",
				"--conf", "spark.app.name=r1",
				"--conf", "spark.executorEnv.FERRY_EXPERIMENT=e",
				"--conf", "spark.executorEnv.FERRY_OUTPUTS_DIR=/user/u/.ferry/runs/r1/outputs",
				"--conf", "spark.executorEnv.FERRY_RUN_ID=r1",
				"--conf", "spark.executorEnv.K=v",
				"--conf", "spark.executorEnv.PYTHONUNBUFFERED=1",
				"--conf", "spark.pyspark.python=/opt/py/bin/python3",
				"--conf", "spark.yarn.appMasterEnv.FERRY_EXPERIMENT=e",
				"--conf", "spark.yarn.appMasterEnv.FERRY_OUTPUTS_DIR=/user/u/.ferry/runs/r1/outputs",
				"--conf", "spark.yarn.appMasterEnv.FERRY_RUN_ID=r1",
				"--conf", "spark.yarn.appMasterEnv.K=v",
				"--conf", "spark.yarn.appMasterEnv.PYTHONUNBUFFERED=1",
				"--conf", "spark.yarn.maxAppAttempts=3",
				"--archives", "ferry-snapshot.tgz#ferry_snapshot", "--py-files", "ferry_run.py",
				"etl.py", "--input", "x y"},
		},
		{
			name: "client, conda, packages",
			job: Job{RunID: "r2", Experiment: "e", Script: "a.py", DeployMode: ModeClient, Conda: true,
				Packages: []string{"g:a:1", "h:b:2"}, Repositories: []string{"https://repo"},
				Conf: map[string]string{"spark.app.name": "mine"}},
			want: []string{"spark-submit", "--master", "yarn", "--deploy-mode", "client",
				"--conf", "spark.app.name=mine",
				"--conf", "spark.executorEnv.FERRY_EXPERIMENT=e",
				"--conf", "spark.executorEnv.FERRY_RUN_ID=r2",
				"--conf", "spark.executorEnv.PYTHONUNBUFFERED=1",
				"--conf", "spark.pyspark.driver.python=./ferry-env/bin/python",
				"--conf", "spark.pyspark.python=./environment/bin/python",
				"--conf", "spark.yarn.maxAppAttempts=1",
				"--packages", "g:a:1,h:b:2", "--repositories", "https://repo",
				"--archives", "ferry-snapshot.tgz#ferry_snapshot,ferry-env.tar.gz#environment",
				"--py-files", "ferry_run.py", "a.py"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.job.Argv(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Argv:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		job  Job
		want string // "" for valid
	}{
		{Job{Script: "a.py"}, ""},
		{Job{Script: "a.py", DeployMode: "yarn-cluster"}, "yarnDeployMode"},
		{Job{Script: "a.py", Packages: []string{"g:a:1", "g/a/1"}}, ""},
		{Job{Script: "a.py", Packages: []string{"g:a"}}, `package "g:a"`},
		{Job{Script: "a.py", Packages: []string{"g:a:1:classifier"}}, "group:artifact:version"},
		{Job{Script: "a.py", Packages: []string{"g: :1"}}, "group:artifact:version"},
		{Job{Script: "run.sh"}, ".py script"},
		{Job{Script: "x/ferry_run.py"}, ".py script"},
	}
	for _, tt := range tests {
		err := tt.job.Validate()
		if (err == nil) != (tt.want == "") || err != nil && !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Validate(%+v) = %v, want %q", tt.job, err, tt.want)
		}
	}
	if err := CheckDeployMode("Cluster"); !errors.Is(err, ErrDeployMode) {
		t.Errorf("CheckDeployMode(Cluster) = %v, want ErrDeployMode", err)
	}
}

func TestEntryPoint(t *testing.T) {
	cluster := string(Job{RunID: "r", Script: "src/etl.py"}.EntryPoint("/w"))
	client := string(Job{RunID: "r", Script: "src/etl.py", DeployMode: ModeClient}.EntryPoint("/w"))
	if !strings.Contains(cluster, `os.path.abspath("ferry_snapshot")`) || !strings.Contains(cluster, "if True and") {
		t.Errorf("cluster entry point:\n%s", cluster)
	}
	if !strings.Contains(client, `snap = "/w"`) || !strings.Contains(client, "if False and") || !strings.Contains(client, `"src/etl.py"`) {
		t.Errorf("client entry point:\n%s", client)
	}
	if !strings.Contains(client, "entry point for run r (generated)") || strings.Contains(client+cluster, "{{") {
		t.Errorf("a field left unfilled:\n%s", client)
	}
}
