// Package runconfig reads Azure ML v1 run configurations (.runconfig files,
// found in a project's aml_config/ or .azureml/ folder) as they are.
//
// Parse resolves the fields ferry honours (script, arguments, target, time
// limit, environment variables, the python and docker environment) into a
// RunConfig, and returns a Warning for every field it does not: fields
// ferry cannot honour yet (Spark, Databricks, Azure ML compute and data,
// distributed training) when set to anything but their defaults, and keys
// it does not know. Nothing is dropped silently.
//
// The package is a leaf: it imports neither executor nor agent. The caller
// resolves CondaFile against the project directory and parses it with
// conda.ParseSpec.
package runconfig
