package runner

import "errors"

// errDockerNotWired fails docker runs until the docker runtime
// (executor/docker) is wired into prepareEnv.
var errDockerNotWired = errors.New("docker environments: not wired yet")
