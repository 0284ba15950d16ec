// Package gitinfo records which git commit a run's source came from.
//
// Capture asks the real git CLI (a few fast invocations, no library) for the
// repository's origin URL, branch, commit, dirtiness and top-level directory,
// like Azure ML's azureml.git.* run properties. Credentials embedded in the
// origin URL are removed before they can reach the run history.
package gitinfo
