// Package sparkrun tracks one spark-submit run on a YARN cluster from the
// head node. The runner's shim supervises a local process for every run;
// for a Spark run that process is the tracker ("ferry-executor spark-track
// --plan FILE"), which owns the YARN application:
//
//   - it runs spark-submit with the plan's argv and environment, its stdout
//     and stderr going to the run's log (the shim opened them there), and
//     reads the application id from stderr;
//   - client mode: the driver is spark-submit's child here, its output
//     streams live and its exit code is the run's (YARN reports SUCCEEDED
//     whatever the script did);
//   - cluster mode: spark-submit's exit says nothing about the script, so
//     the tracker asks `yarn application -status` until the application
//     ends, appends `yarn logs -applicationId` (the driver's output) to the
//     log, copies FERRY_OUTPUTS_DIR from the default file system into the
//     run's outputs/ with `hdfs dfs -get`, and exits with the code YARN's
//     final status maps to (spark.Report.ExitCode);
//   - SIGTERM (ferry cancel; the shim signals the process group) becomes
//     `yarn application -kill` once an application exists: killing
//     spark-submit alone would leave a cluster-mode application running.
//     Before that (client mode, no SparkContext yet) stopping the driver is
//     enough, and the same SIGTERM has reached it.
package sparkrun
