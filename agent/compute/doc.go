// Package compute is the agent's registry of compute targets: where runs
// execute. Targets live as one JSON file each under $FERRY_HOME/targets
// (files 0600, folder 0700). The target named "local" always exists and
// needs no file: it is this machine, served by an executor on the same
// filesystem.
package compute
