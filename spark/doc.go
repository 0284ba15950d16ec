// Package spark turns a ferry run into one spark-submit command for a YARN
// cluster (an HDInsight head node) and reads back what spark-submit and the
// yarn CLI print. It is a leaf: the agent uses it to check a run and show
// its command (--dry-run), the executor to launch and track it, and both
// build the same argv from the same Job.
//
// Every file a command names is relative to the run's submit directory
// (spark-submit's working directory on the head node), so that the argv
// does not depend on where the executor keeps its state:
//
//	<script base name>     the driver's entry point (EntryPoint): it runs the
//	                       script from the snapshot as the working directory
//	ferry-snapshot.tgz     the snapshot, shipped as --archives …#ferry_snapshot
//	ferry-env.tar.gz       the packed conda environment (…#environment)
//	ferry-env/             the conda prefix itself (client-mode driver)
//	ferry_run.py           ferry's metrics helper, shipped with --py-files
//
// The grammar and behaviour this relies on are spark-submit's and YARN's as
// cited in the project's facts file (spark-submit-yarn.md).
package spark
