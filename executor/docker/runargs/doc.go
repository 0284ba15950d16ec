// Package runargs reads the `docker run` arguments a run may carry (a run
// configuration's docker.arguments, ferry run --docker-arg) and the --gpus
// value, without the Docker client: the ferry command checks them before
// any upload, the executor's docker package turns them into a container's
// configuration.
//
// Honoured: --shm-size, --gpus, -e/--env, --ipc, --network/--net,
// -m/--memory, --cpus, --cap-add, --ulimit and -v/--volume
// (HOST:CONTAINER[:ro|rw], or a named volume). Every other argument is
// named in a warning and ignored: it would change what ferry relies on (the
// container's name, user, working directory, removal, entrypoint).
package runargs
